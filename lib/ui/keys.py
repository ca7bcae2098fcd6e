"""Every session-state key the console's shared widgets use, named once.

Session state is per browser session. The signed-in session, the analytics range shared by
the analytics pages and the action dialog's state machine live under these keys; a page's own
state (e.g. the Tasks page's snapshot) is named in that page. Widget keys tests and pages
refer to are here too, so a rename is one edit.
"""

__all__ = [
    "ACTED_AT",
    "ACTION_RESULT",
    "ACTOR",
    "ANALYTICS_DATES",
    "ANALYTICS_RANGE",
    "AUTH_CLAIMS",
    "AUTH_COOKIE",
    "AUTH_LAST_ACTIVE",
    "AUTH_NOTICE",
    "CLUSTER",
    "CLUSTER_LINKED",
    "CLUSTER_SWITCH",
    "DIALOG_CANCEL",
    "DIALOG_CONFIRM",
    "DISMISS_REST",
    "DONE_OPS",
    "LOGOUT",
    "PENDING",
    "REVEALED",
    "SEND_REST",
    "SSO_LOGIN",
    "UNSENT",
    "dialog_input",
    "selection_fingerprint",
]

# -- the signed-in session (lib/ui/login.py) ------------------------------------------------
#: Who is signed in with a password (``lib.auth.Actor``).
ACTOR = "actor"
#: The session's login-token claims (``lib.session.Claims``); None right after a password login.
AUTH_CLAIMS = "auth_claims"
#: The token the browser should hold; "" = clear the cookie, None = nothing to set.
AUTH_COOKIE = "auth_cookie"
#: Epoch seconds of the last full run (activity); idle sign-out counts from it.
AUTH_LAST_ACTIVE = "auth_last_active"
#: Why the session was signed out, shown once on the sign-in screen.
AUTH_NOTICE = "auth_notice"
SSO_LOGIN = "sso_login"
LOGOUT = "logout"

# -- the chosen cluster (lib/ui/clusters.py) ---------------------------------------------
#: The name of the cluster this session's pages show (kept across page switches).
CLUSTER = "chosen_cluster"
#: The cluster every deep link names (``?cluster=``); None without OPS_CLUSTERS_FILE.
CLUSTER_LINKED = "linked_cluster"
#: The sidebar's cluster switcher.
CLUSTER_SWITCH = "cluster_switch"

# -- the analytics time range, shared by Trends, Errors and Workflows ---------------------
#: The chosen range's name: widget state is dropped on page change, this is not.
ANALYTICS_RANGE = "analytics_range"
#: The custom range's two dates.
ANALYTICS_DATES = "analytics_dates"

# -- actions: button → confirmation dialog → ActionDesk.perform (lib/ui/dialog.py) ---------
#: The action waiting for confirmation: action, targets, params, op_id (and its preview).
PENDING = "pending_action"
#: The targets a stopped bulk action did not send, offered as a new confirmed action.
UNSENT = "unsent_action"
#: The last ``ActionResult``, shown once as a toast.
ACTION_RESULT = "action_result"
#: Operation ids already performed: a double click acts once.
DONE_OPS = "done_ops"
#: The task whose sensitive values an admin revealed.
REVEALED = "revealed"
#: Epoch seconds of the last action: pages follow Flower closely for a while after it.
ACTED_AT = "acted_at"
DIALOG_CONFIRM = "dialog_confirm"
DIALOG_CANCEL = "dialog_cancel"
SEND_REST = "send_rest"
DISMISS_REST = "dismiss_rest"


def dialog_input(param: str) -> str:
    """The widget key of what the dialog asks for ``param``."""
    return f"dialog_{param}"


def selection_fingerprint(table_key: str) -> str:
    """Where a table's row fingerprint is kept (``keep_selection_valid``)."""
    return f"{table_key}_rows"
