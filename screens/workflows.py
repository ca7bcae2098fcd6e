"""Workflows: one tab per view of workflows.toml (training, pipeline, team) plus Chains."""

from datetime import UTC, datetime

import streamlit as st

from lib import charts, ui
from lib import workflows as wf
from lib.workflows.config import load_workflows

console = ui.page("Workflows")
settings, monitor, metas = console.settings, console.monitor, console.metas
now = datetime.now(UTC)
actor = ui.current_actor(settings)
acted = ui.action_dialog(console, actor)
config = load_workflows(settings.workflows_file)
for problem in config.problems:
    st.error(f"{ui.md_escape(config.source)}, {ui.md_escape(problem)}", icon="⚙️")
reading = ui.load_tasks(monitor, force=acted is not None)
ui.follow_up(monitor, monitor.version)  # after a revoke, show the new states as they come
if not ui.show_reading(reading, "tasks"):
    st.stop()
tasks = reading.value
chosen = ui.time_range(now=now)
start, end, span = chosen.start, chosen.end, chosen.label
ui.held_since_note(monitor.held_since(start) if start else None, chosen)
if metas is None and monitor.training_metas() is None:
    st.caption(
        "CELERY_RESULT_BACKEND is not set: progress of running jobs and group members are unknown (Flower keeps neither)."
    )
elif metas is None:  # an external collector samples progress; groups need the backend here
    st.caption(
        "CELERY_RESULT_BACKEND is not set: group members are unknown (Flower does not keep them)."
    )


table = ui.table  # every table here has its Download CSV


def training(view) -> None:
    memory = console.known_names(view.key)  # a name once detected stays detected
    records = ui.training_records(monitor, metas, wf.training_candidates(tasks, view, memory.names))
    names = memory.add(wf.training_names(tasks, view, records))
    jobs = wf.training_jobs_frame(tasks, view, records, now, names)
    kpi = wf.training_kpis(jobs, start, end)
    ui.metrics(wf.training_cards(kpi, span, ui.fmt_seconds))
    if jobs.empty:
        st.info(
            "No training jobs in this range. Jobs are found by the view's task rules, or by "
            "loss/accuracy keys in a running task's progress meta (needs CELERY_RESULT_BACKEND)."
        )
    table(jobs, f"training-{view.key}")
    if not jobs.empty:
        curves(view, jobs)


def curves(view, jobs) -> None:
    st.subheader("Loss and accuracy")
    labels = wf.curve_labels(jobs)
    picked = st.multiselect(
        "Compare jobs",
        list(labels),
        default=wf.default_curves(jobs),
        format_func=labels.get,
        key=f"curves_{view.key}",
    )
    x = st.radio(
        "Curves over",
        list(wf.CURVE_AXES),
        format_func=wf.CURVE_AXES.get,
        horizontal=True,
        key=f"curves_x_{view.key}",
    )
    got = monitor.training_curves(picked, start or datetime.fromtimestamp(0, UTC), end)
    if not ui.show_reading(got, "training curves"):
        return
    shown = wf.training_curves_frame(got.value, jobs)
    if shown.empty:
        st.caption(
            "No progress sampled for these jobs in this range: the collector samples a running "
            "job's progress meta each poll (needs CELERY_RESULT_BACKEND)."
        )
        return
    tz = ui.viewer_tz()
    for column, metric in zip(st.columns(len(wf.CURVE_METRICS)), wf.CURVE_METRICS, strict=True):
        chart = charts.training_curve_chart(shown, metric, x, tz)
        column.altair_chart(chart, key=f"curve_{metric}_{view.key}", width="stretch")


def pipeline(view) -> None:
    stages = wf.pipeline_stages_frame(tasks, view, start, end)
    pipelines = wf.pipelines_frame(stages, view)
    ui.metrics({k.capitalize(): v for k, v in wf.pipeline_kpis(pipelines).items()})
    st.caption(
        f"Health from success ÷ finished: ≥ {view.healthy:g}% healthy, ≥ {view.degraded:g}% degraded, else unhealthy."
    )
    if pipelines.empty:
        st.info(
            "No pipelines in this range. A pipeline is a set of tasks sharing a pipeline_id "
            "kwarg (or result key) or a root task id, matched by the view's stage rules."
        )
    table(pipelines, f"pipelines-{view.key}")
    picked = st.selectbox(
        "Stages of pipeline", ["All", *pipelines["pipeline"]], key=f"pick_{view.key}"
    )
    table(stages if picked == "All" else stages[stages["pipeline"] == picked], f"stages-{view.key}")
    st.subheader("Per stage, across pipelines")
    table(wf.stage_summary_frame(stages), f"stage-summary-{view.key}")


def team(view) -> None:
    held = monitor.workers()
    ui.show_reading(held, "workers")
    workers = wf.team_workers_frame(held.value, view)
    members = wf.team_tasks_frame(tasks, view)
    teams = wf.teams_frame(members, workers, view, start, end)
    if teams.empty:
        st.info(
            "No teams found: teams come from worker names (team-<x>) or routing keys "
            "(team_<x>), or from the view's members tables."
        )
    table(teams, f"teams-{view.key}")
    picked = st.selectbox("Team", teams["team"], key=f"pick_{view.key}")
    table(workers[workers["team"] == picked], f"team-workers-{view.key}")
    shown = members[members["team"] == picked].sort_values("timestamp", ascending=False)
    columns = ["team", "name", "state", "worker", "queue", "started", "duration", "uuid"]
    table(shown.head(1000)[columns], f"team-tasks-{view.key}")


def open_typed_task() -> None:
    if typed := str(st.session_state.get("wf_task") or "").strip():
        st.query_params["task"] = typed


def chains() -> None:
    recent = wf.workflows_frame(tasks, now, start, end)
    st.caption(
        f"{len(recent)} workflows of two or more tasks ({span}). Pick one, or type any task id."
    )
    picked = ui.pick_row(recent, "root_id", "workflows", key="wf_list")
    # A selection persists across reruns: follow it only when it changes, so a typed id stays.
    if picked and picked != st.session_state.get("wf_picked"):
        st.session_state["wf_picked"] = st.query_params["task"] = picked
    st.text_input("Task id", key="wf_task", on_change=open_typed_task)
    if not (task := st.query_params.get("task")):
        return
    groups = wf.group_ids_from(ui.backend_records(metas, wf.group_candidates(tasks, task)))
    tree = wf.workflow_tree_frame(tasks, task, now, groups)
    if tree.empty:
        st.warning(f"Flower does not hold task {ui.md_escape(task)}.")
        return
    summary = wf.workflow_summary(tree)
    unfinished = summary["unfinished"]
    ui.metrics({k.capitalize(): len(v) if k == "unfinished" else v for k, v in summary.items()})
    table(tree, "workflow-tree")
    left, right, _ = st.columns([1, 1, 4])
    with left:
        ui.action_button(actor, "revoke", unfinished, key="wf_revoke", label="Revoke workflow")
    with right:
        ui.action_button(
            actor, "terminate", unfinished, key="wf_terminate", label="Terminate workflow"
        )


VIEWS = {"training": training, "pipeline": pipeline, "team": team, "chains": lambda _: chains()}
labels = [ui.md_escape(v.title) for v in config.views] + ["Chains"]
opened = st.tabs(labels, default="Chains" if st.query_params.get("task") else None)
for kind_view, tab in zip([*config.views, None], opened, strict=True):
    with tab:
        VIEWS[kind_view.kind if kind_view else "chains"](kind_view)
