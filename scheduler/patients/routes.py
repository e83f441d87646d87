"""Patients: ``/patients``."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.context import actor, committed, now, session
from scheduler.patients import services
from scheduler.patients.models import Patient
from scheduler.patients.schemas import PatientCreateArgs, PatientQueryArgs, PatientSchema

blp = Blueprint("patients", __name__, description="Patient registration and search")


@blp.route("/patients")
class Patients(MethodView):
    @blp.listing(PatientSchema, PatientQueryArgs)
    def get(self, args: dict[str, Any]) -> Statement[Patient]:
        """Search patients by MRN or name"""
        return services.search_statement(actor(), args.get("q"))

    @blp.writing(PatientCreateArgs, PatientSchema)
    def post(self, data: dict[str, Any]) -> Patient:
        """Register a patient"""
        return committed(services.register_patient(session(), actor(), now(), **data))


@blp.route("/patients/<int:patient_id>")
class PatientById(MethodView):
    @blp.response(200, PatientSchema)
    def get(self, patient_id: int) -> Patient:
        """Get a patient (patients: only themselves)"""
        return services.get_patient(session(), actor(), patient_id)
