"""Every package's models, imported once so that Base.metadata is complete (Alembic, tests).

A new package with a ``models.py`` joins :data:`PACKAGES`; tests/unit/test_layers.py fails
until it does. Import a model from its own package, not from here.
"""

from scheduler.auth import models as auth
from scheduler.clinical import models as clinical
from scheduler.clinicians import models as clinicians
from scheduler.db import Base
from scheduler.facilities import models as facilities
from scheduler.hl7v2 import models as hl7v2
from scheduler.outbox import models as outbox
from scheduler.pathways import models as pathways
from scheduler.patients import models as patients
from scheduler.policies import models as policies
from scheduler.scheduling import models as scheduling
from scheduler.waitlist import models as waitlist

PACKAGES = (
    auth,
    clinical,
    clinicians,
    facilities,
    hl7v2,
    outbox,
    pathways,
    patients,
    policies,
    scheduling,
    waitlist,
)

__all__ = ["PACKAGES", "Base"]
