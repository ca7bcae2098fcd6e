"""A Celery app for the doctor's tests: the sandbox's tasks with what the console relies on
turned off in configuration (task events, task-sent events, result_extended).

Workers and Flower load it with ``-A tests.doctor_app``; Celery finds ``app`` here.
"""

from demo.tasks import app

app.conf.update(
    worker_send_task_events=False,
    task_send_sent_event=False,
    result_extended=False,
)

__all__ = ["app"]
