"""The learner service's HTTP API: training centres, learners and the department."""

from services.learner.api.accounts import router as accounts_router
from services.learner.api.admin import router as admin_router
from services.learner.api.learners import router as learners_router
from services.learner.api.oidc import router as oidc_router
from services.learner.api.portal import router as portal_router
from services.learner.api.programmes import router as programmes_router
from services.learner.api.records import router as records_router

ROUTERS = (
    records_router,
    programmes_router,
    learners_router,
    accounts_router,
    oidc_router,
    admin_router,
    portal_router,
)
