"""API-wide error handling: model validation errors are client errors, never 500s."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Django's ValidationError (model clean()) → 400; deleting a row still in use → 409."""
    if isinstance(exc, ProtectedError):
        in_use = sorted({str(type(obj)._meta.verbose_name_plural) for obj in exc.protected_objects})
        return Response(
            {"detail": f"Still referenced by {', '.join(in_use)}; remove those references first."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = ValidationError(detail=detail)
    return drf_exception_handler(exc, context)
