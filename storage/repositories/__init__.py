"""SQLAlchemy implementations of the ports in handlers/ports.py, one module per area."""

from storage.repositories.appointments import ACTIVE, SqlAppointments, to_appointment
from storage.repositories.files import SqlDocuments, SqlReceipts, to_document, to_receipt
from storage.repositories.people import SqlConversations, SqlUsers, to_user
from storage.repositories.records import SqlEvidence, SqlOutbox, to_record

__all__ = [
    "ACTIVE",
    "SqlAppointments",
    "SqlConversations",
    "SqlDocuments",
    "SqlEvidence",
    "SqlOutbox",
    "SqlReceipts",
    "SqlUsers",
    "to_appointment",
    "to_document",
    "to_receipt",
    "to_record",
    "to_user",
]
