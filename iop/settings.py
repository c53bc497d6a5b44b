"""IOP Clinic settings: the only settings module, driven by environment variables.

With no environment at all the app runs on a SQLite file with Celery tasks run eagerly
in-process (the embedded default). ``DATABASE_URL`` switches to PostgreSQL and
``CELERY_BROKER_URL`` to Redis. Every variable read here is listed in the README's table.
A malformed value stops start-up with an ``ImproperlyConfigured`` error naming the variable.
"""

from __future__ import annotations

import os
import zoneinfo
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: {raw!r} is not a boolean (use true or false).")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}: {raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}: {value} is below the minimum of {minimum}.")
    return value


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envsecret(name: str, default: str = "") -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path!r} ({exc.strerror}).") from None
    return os.environ.get(name, default)


def envurl(name: str, parse, default: str):
    raw = os.environ.get(name, default)
    try:
        return parse(raw)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise ImproperlyConfigured(f"{name}: {raw!r} is not a valid URL ({exc}).") from None


def envzone(name: str, default: str) -> str:
    raw = os.environ.get(name, default)
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}: {raw!r} is not a known time zone.") from None
    return raw


# Off wherever a real database is configured (every deployment sets DATABASE_URL); on for the
# embedded SQLite default, so a bare `manage.py` works on a laptop with no environment at all.
DEBUG = envbool("DJANGO_DEBUG", not os.environ.get("DATABASE_URL"))

SECRET_KEY = envsecret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY: required when DJANGO_DEBUG is off (or set DJANGO_SECRET_KEY_FILE to a file holding it)."
        )
    SECRET_KEY = "insecure-development-key-only-for-DJANGO_DEBUG-on-never-in-production"

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    # The product's apps, bottom floor first (ARCHITECTURE.md §3).
    "users",
    "audit",
    "patients",
    "notifications",
    "plans",
    "assessments",
    "scheduling",
    "sessions.apps.ClinicalSessionsConfig",
    "billing",
    "reports",
]

MIDDLEWARE = [
    "users.middleware.CurrentRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "users.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "users.middleware.RequireMFAMiddleware",
    "users.middleware.ScreenLockMiddleware",
    "users.middleware.CurrentSiteMiddleware",
    "users.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "iop.urls"
WSGI_APPLICATION = "iop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "users.context_processors.clinic",
                "notifications.context_processors.open_alerts",
                "reports.context_processors.caseload_summary",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATABASES = {"default": envurl("DATABASE_URL", environ.Env.db_url_config, f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"].get("ENGINE") not in {"django.db.backends.postgresql", "django.db.backends.sqlite3"}:
    raise ImproperlyConfigured(
        f"DATABASE_URL: {os.environ.get('DATABASE_URL')!r} is not supported; use postgres://… or sqlite:///…"
    )
DATABASES["default"]["CONN_MAX_AGE"] = envint("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Serialise writers instead of failing with "database is locked" under a dev server.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
if IS_POSTGRES and not envbool("DATABASE_JIT", False):
    # PostgreSQL's JIT compiles expensive-looking plans to machine code. The caseload and
    # dashboard queries are many small correlated subqueries: JIT compilation took ~1 s of a
    # 1.2 s site caseload on the benchmark data, for nothing. Off unless asked for.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": envurl("CACHE_URL", environ.Env.cache_url_config, "locmemcache://")}
# On Redis (redis://, rediscache://, rediss://) the cache falls back to this process's memory while
# Redis is unreachable, so sign-in and break-glass keep working through an outage (iop/cache.py).
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "iop.cache.ResilientRedisCache"

# --- Auth, allauth, MFA -------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "users.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"  # staff arrive by invitation to the address they use
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
# Keep the session that changed the password; every other session of the user ends because
# Django ties each session to the password hash.
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PASSWORD_RESET_TOKEN_GENERATOR = None
ACCOUNT_RATE_LIMITS = {
    "login_failed": envstr("LOGIN_FAILED_RATE_LIMIT", "10/m/ip,5/5m/key"),
    "reset_password": "20/m/ip,5/m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Tell staff by email when their password or second factor changes (security notices, no PHI).
ACCOUNT_EMAIL_NOTIFICATIONS = True
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = envbool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", DEBUG)
MFA_TOTP_ISSUER = envstr("MFA_TOTP_ISSUER", "IOP Clinic")

# Idle timeout (HIPAA automatic logoff) and an absolute session lifetime.
SESSION_IDLE_TIMEOUT_MINUTES = envint("SESSION_IDLE_TIMEOUT_MINUTES", 15, minimum=1)
# The screen lock (users/lock.py): pages cover themselves after this many idle minutes and the
# session needs a "confirm it's you" to go on. 0, or not shorter than the idle sign-out: off.
SESSION_LOCK_MINUTES = envint("SESSION_LOCK_MINUTES", 10, minimum=0)
SESSION_ABSOLUTE_HOURS = envint("SESSION_ABSOLUTE_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_HOURS * 3600
# Signing a legal record or exporting PHI needs an authentication (sign-in or "confirm it's
# you") within this many minutes; allauth's own confirmation pages use the same window.
REAUTHENTICATION_MINUTES = envint("REAUTHENTICATION_MINUTES", 5, minimum=1)
ACCOUNT_REAUTHENTICATION_TIMEOUT = REAUTHENTICATION_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
INVITATION_TTL_HOURS = envint("INVITATION_TTL_HOURS", 72, minimum=1)
# Break-glass emergency access (HIPAA §164.312(a)): how long one grant to read an out-of-site
# patient's chart lasts, and how many failed MRN + date-of-birth look-ups a user gets per
# BREAK_GLASS_LOOKUP_WINDOW_MINUTES before look-ups are refused.
BREAK_GLASS_MINUTES = envint("BREAK_GLASS_MINUTES", 60, minimum=1)
BREAK_GLASS_LOOKUP_FAILURES = envint("BREAK_GLASS_LOOKUP_FAILURES", 5, minimum=1)
BREAK_GLASS_LOOKUP_WINDOW_MINUTES = envint("BREAK_GLASS_LOOKUP_WINDOW_MINUTES", 15, minimum=1)
PROGRAM_FUNDRAISES = envbool("PROGRAM_FUNDRAISES", False)  # TPO consents then offer the fundraising opt-out (§2.31)

# --- Security (production switches) -----------------------------------------------
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = envint("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = envbool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if envbool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# A strict Content-Security-Policy: only this origin's scripts and styles, no inline code,
# no third parties (pages work offline and PHI pages never call out).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # the authenticator QR code is a data: SVG
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],  # ReDoc renders the API reference in a worker
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- Internationalisation and time ---------------------------------------------------
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
# Display zone when no site is selected; each Site carries its own zone.
TIME_ZONE = envzone("DJANGO_TIME_ZONE", "UTC")

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if envbool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not envbool("STATIC_MANIFEST", False)

# --- Email ----------------------------------------------------------------------------
_email = envurl("EMAIL_URL", environ.Env.email_url_config, "consolemail://")
EMAIL_BACKEND = _email.pop("EMAIL_BACKEND")
globals().update(_email)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "IOP Clinic <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL")
# Embedded default: no broker configured → run tasks eagerly in this process.
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {}
# Scheduling: keep every active track's sessions generated a few weeks ahead (idempotent).
SCHEDULING_HORIZON_WEEKS = envint("SCHEDULING_HORIZON_WEEKS", 4, minimum=1)
CELERY_BEAT_SCHEDULE["scheduling-keep-tracks-ahead"] = {
    "task": "scheduling.tasks.tracks_keep_ahead_task",
    "schedule": 6 * 3600,
}

# Assessments: days between administrations of each instrument for re-assessment due dates.
REASSESSMENT_CADENCE_DAYS = {"PHQ-9": 30, "GAD-7": 30, "BAM": 7}
# Which signed placements need a supervisor's co-signature: never, overrides (actual level differs
# from the recommendation) or always.
PLACEMENT_COSIGN = envstr("PLACEMENT_COSIGN", "overrides").strip().lower()
if PLACEMENT_COSIGN not in {"never", "overrides", "always"}:
    raise ImproperlyConfigured(f"PLACEMENT_COSIGN: {PLACEMENT_COSIGN!r} must be never, overrides or always.")

# Assessments: cut-offs of recorded scores other than the instruments' defaults (DOMAIN.md 4.3,
# 4.6), e.g. "CIWA-Ar=CIWA-Ar:SULLIVAN-1989": instrument code = band-set id, comma-separated. An
# id that does not belong to the instrument is refused when a score is recorded, naming it.
ASSESSMENT_BAND_SETS = dict(
    (code.strip(), band_set.strip())
    for code, _, band_set in (e.partition("=") for e in envlist("ASSESSMENT_BAND_SETS"))
)
# Sessions: a day's attended clinical minutes for a per-diem claim (DOMAIN.md §10); hours after
# the session end after which a note's signature is labelled a late entry; the daily
# missed-session follow-up sweep (proposes reviews, never discharges).
PER_DIEM_MIN_MINUTES = envint("PER_DIEM_MIN_MINUTES", 180, minimum=1)
# Reports: the per-diem export's service code (HCPCS H0015, alcohol and/or drug IOP) and how far
# back the caseload counts no-shows.
PER_DIEM_SERVICE_CODE = envstr("PER_DIEM_SERVICE_CODE", "H0015")
CASELOAD_NO_SHOW_DAYS = envint("CASELOAD_NO_SHOW_DAYS", 14, minimum=1)
NOTE_LATE_ENTRY_HOURS = envint("NOTE_LATE_ENTRY_HOURS", 24, minimum=1)
CELERY_BEAT_SCHEDULE["sessions-followup-sweep"] = {
    "task": "sessions.tasks.followup_sweep_task",
    "schedule": 24 * 3600,
}

# --- Outbox, reminders and staff notices (notifications; DOMAIN.md §13) -------------------------
# A send that fails on a transient error is retried after 1, 2, 4 … minutes (capped), up to
# OUTBOX_MAX_ATTEMPTS tries; a row stuck in "sending" (a worker died) is reclaimed after
# OUTBOX_RECLAIM_MINUTES. Each sweep claims up to OUTBOX_BATCH_SIZE × OUTBOX_MAX_BATCHES rows.
OUTBOX_MAX_ATTEMPTS = envint("OUTBOX_MAX_ATTEMPTS", 5, minimum=1)
OUTBOX_RECLAIM_MINUTES = envint("OUTBOX_RECLAIM_MINUTES", 10, minimum=1)
OUTBOX_BATCH_SIZE = envint("OUTBOX_BATCH_SIZE", 500, minimum=1)
OUTBOX_MAX_BATCHES = envint("OUTBOX_MAX_BATCHES", 40, minimum=1)
OUTBOX_BACKOFF_BASE_SECONDS = envint("OUTBOX_BACKOFF_BASE_SECONDS", 60, minimum=1)
OUTBOX_BACKOFF_MAX_SECONDS = envint("OUTBOX_BACKOFF_MAX_SECONDS", 3600, minimum=1)
# Patient reminders: "-1d@18:00" is the day before at 18:00 site time, "-2h" two hours before.
REMINDER_OFFSETS = envlist("REMINDER_OFFSETS", "-1d@18:00,-2h")
REMINDER_PLAN_HOURS = envint("REMINDER_PLAN_HOURS", 48, minimum=1)
# Staff: an in-app task for a note still unsigned this long after its session; the daily digest
# goes out at this local hour at each site.
NOTE_UNSIGNED_ALERT_HOURS = envint("NOTE_UNSIGNED_ALERT_HOURS", 24, minimum=1)
# An in-app task for the counselor and supervisors when a utilization review is due this many days ahead.
UR_REVIEW_ALERT_DAYS = envint("UR_REVIEW_ALERT_DAYS", 2, minimum=0)
STAFF_DIGEST_HOUR = envint("STAFF_DIGEST_HOUR", 7, minimum=0)
if STAFF_DIGEST_HOUR > 23:
    raise ImproperlyConfigured(f"STAFF_DIGEST_HOUR: {STAFF_DIGEST_HOUR} is not an hour of the day (0–23).")
# Links in messages: staff sign in at PUBLIC_BASE_URL; patients get PATIENT_PORTAL_URL (no link when empty).
PUBLIC_BASE_URL = envstr("PUBLIC_BASE_URL", "http://localhost:8000" if DEBUG else "")
PATIENT_PORTAL_URL = envstr("PATIENT_PORTAL_URL")
# SMS: console (development), file (SMS_FILE_PATH) or the HTTP provider adapter, whose host must
# be listed in SMS_ALLOWED_HOSTS. Webhooks are verified with SMS_WEBHOOK_SECRET (HMAC-SHA256).
SMS_BACKEND = envstr("SMS_BACKEND", "notifications.backends.ConsoleSmsBackend")
SMS_FILE_PATH = envstr("SMS_FILE_PATH", str(BASE_DIR / "var" / "sms"))  # not a shared /tmp folder
SMS_HTTP_URL = envstr("SMS_HTTP_URL")
SMS_HTTP_TOKEN = envsecret("SMS_HTTP_TOKEN")
SMS_HTTP_TIMEOUT_SECONDS = envint("SMS_HTTP_TIMEOUT_SECONDS", 10, minimum=1)
SMS_ALLOWED_HOSTS = envlist("SMS_ALLOWED_HOSTS")
SMS_WEBHOOK_SECRET = envsecret("SMS_WEBHOOK_SECRET")
SMS_WEBHOOK_TOLERANCE_SECONDS = envint("SMS_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)
CELERY_BEAT_SCHEDULE["notifications-outbox-dispatch"] = {
    "task": "notifications.tasks.outbox_dispatch_due_task",
    "schedule": 15,
}
# Reminders are planned by scheduling and the due-work alerts raised by reports; both hand what
# they make to the outbox. (The entries "notifications-reminders-plan" and
# "notifications-staff-alerts" are gone: migration notifications 0003 removes their rows.)
CELERY_BEAT_SCHEDULE["scheduling-reminders-plan"] = {
    "task": "scheduling.tasks.reminders_plan_task",
    "schedule": 15 * 60,
}
CELERY_BEAT_SCHEDULE["reports-due-work-alerts"] = {
    "task": "reports.tasks.due_work_sweep_task",
    "schedule": 3600,
}
CELERY_BEAT_SCHEDULE["notifications-staff-digest"] = {
    "task": "notifications.tasks.staff_digest_task",
    "schedule": 3600,
}

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an integration with a bad, revoked or expired token is told 401, not 403.
        "users.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "users.api.permissions.HasMFA"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "iop.api_exceptions.exception_handler",
    # drf-spectacular, naming nested Input serializers after their view (users/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "users.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": envstr("API_USER_RATE", "1200/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "IOP Clinic API",
    "DESCRIPTION": "Every response carries 42 CFR Part 2 protected information: access is scoped to the "
    "caller's sites and every read is audited.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and ReDoc are served from the sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set that several apps call "kind", "status" or "level_of_care".
    "ENUM_NAME_OVERRIDES": {
        "ConsentKindEnum": "patients.models.ConsentKind",
        "SessionKindEnum": "scheduling.models.SessionKind",
        "AlertKindEnum": "notifications.models.AlertKind",
        "EpisodeLevelOfCareEnum": "patients.models.LEVEL_CHOICES",
        "TrackLevelOfCareEnum": "scheduling.models.LevelOfCare",
        "NoteStatusEnum": "sessions.models.NoteStatus",
        "PlanStatusEnum": "plans.models.PlanStatus",
        "SessionStatusEnum": "scheduling.models.SessionStatus",
        "ResponseStatusEnum": "assessments.models.ResponseStatus",
        "PlacementStatusEnum": "assessments.models.PlacementStatus",
        "RevocationMethodEnum": "patients.models.RevocationMethod",
        "PurposeEnum": "patients.models.Purpose",
        "PayerKindEnum": "billing.models.PayerKind",
        "ReviewKindEnum": "billing.models.ReviewKind",
        "ReviewOutcomeEnum": "billing.models.ReviewOutcome",
        "ClaimTypeEnum": "billing.models.ClaimType",
        "UnitTypeEnum": "billing.models.UnitType",
    },
}

# --- Treatment plans (DOMAIN.md §7; states and accreditors differ) --------------------
# Days after admission by which the first treatment plan must be signed.
PLAN_INITIAL_DUE_DAYS = envint("PLAN_INITIAL_DUE_DAYS", 7, minimum=1)
# A review is due this many days after the last signed version.
PLAN_REVIEW_INTERVAL_DAYS = envint("PLAN_REVIEW_INTERVAL_DAYS", 30, minimum=1)
# A clinical supervisor (or physician) co-signs every treatment plan version.
PLAN_SUPERVISOR_SIGNATURE_REQUIRED = envbool("PLAN_SUPERVISOR_SIGNATURE_REQUIRED", True)

# --- Admin and logging ----------------------------------------------------------------
ADMIN_URL = envstr("DJANGO_ADMIN_URL", "admin/")
if not ADMIN_URL.endswith("/") or ADMIN_URL.startswith("/"):
    raise ImproperlyConfigured(f"DJANGO_ADMIN_URL: {ADMIN_URL!r} must end with '/' and not start with one.")

LOG_LEVEL = envstr("DJANGO_LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"DJANGO_LOG_LEVEL: {LOG_LEVEL!r} is not a log level.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Request lines carry URLs only (never PHI, by design); keep them at WARNING to stay quiet.
    "loggers": {"django.request": {"level": "WARNING"}, "django.server": {"level": "WARNING"}},
}
