"""The vendors' own OpenAPI documents, loaded once and used to validate every request a server gets.

The documents are read with ``json.load`` (the Twilio one carries surrogate-pair escapes that other
loaders reject) from ``$LIFECYCLE_VENDOR_SPECS_DIR``, by default ``shared/vendor-specs`` beside the
repository. One known defect is corrected in memory: SendGrid's message-level ``custom_args`` is
typed as a string, but the API takes an object of strings. Requests are validated as if they had
arrived at the vendor's own host, so the document's ``servers`` entry matches whatever port we use.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jsonschema.exceptions import ValidationError as SchemaError
from openapi_core import OpenAPI
from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from lifecycle.settings import REPO_ROOT

SENDGRID_MAIL_DOCUMENT = "tsg_mail_v3.json"
TWILIO_API_DOCUMENT = "twilio_api_v2010.json"
SENDGRID_MAIL_SEND_PATH = "/v3/mail/send"
TWILIO_MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"

_MAX_MESSAGE_CHARS = 200


def vendor_specs_dir() -> Path:
    """Where the vendors' documents live: ``$LIFECYCLE_VENDOR_SPECS_DIR`` or ``<repo>/../shared/vendor-specs``."""
    configured = os.environ.get("LIFECYCLE_VENDOR_SPECS_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "vendor-specs"


@dataclass(frozen=True)
class Problem:
    """One reason the vendor would reject a request: the offending field (dotted path) and why."""

    field: str | None
    message: str


@dataclass
class _EdgeRequest:
    """The request as openapi-core sees it (its ``Request`` protocol), placed on the vendor's host."""

    host_url: str
    path: str
    method: str
    body: bytes
    content_type: str
    headers: dict[str, str]
    parameters: RequestParameters = field(init=False)

    def __post_init__(self) -> None:
        self.parameters = RequestParameters(
            path={}, query=ImmutableMultiDict(), header=Headers(self.headers), cookie=ImmutableMultiDict()
        )


class Contract:
    """One vendor document, validating requests for the operations it declares."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._openapi = OpenAPI.from_dict(document)
        self._host_url = document["servers"][0]["url"]

    def problems(
        self, method: str, path: str, body: bytes, content_type: str, headers: dict[str, str]
    ) -> list[Problem]:
        """Every violation of the document by this request; empty when the vendor's schema accepts it."""
        request = _EdgeRequest(self._host_url, path, method.lower(), body, content_type.lower(), headers)
        found: list[Problem] = []
        for error in self._openapi.iter_request_errors(request):
            found.extend(_explain(error, request))
        return found


def _explain(error: Exception, request: _EdgeRequest) -> list[Problem]:
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        return [_schema_problem(e) for e in schema_errors]
    if isinstance(cause, CastError):
        return [Problem(_form_field_holding(request, cause.value), _clip(str(cause)))]
    return [Problem(getattr(error, "name", None), _clip(str(error)))]


def _form_field_holding(request: _EdgeRequest, value: object) -> str | None:
    """The form parameter whose value failed to cast (openapi-core reports the value, not the name)."""
    if "x-www-form-urlencoded" not in request.content_type:
        return None
    form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return next((name for name, values in form.items() if value in values), None)


def _schema_problem(error: SchemaError) -> Problem:
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = re.match(r"'(.+)' is a required property", error.message)
        if missing:
            path.append(missing.group(1))
        return Problem(".".join(path), f"{'.'.join(path)} is required")
    where = ".".join(path) or None
    if error.validator in ("maxItems", "minItems", "maxLength", "minLength", "maxProperties"):
        return Problem(where, f"{where} violates {error.validator}={error.validator_value}")
    return Problem(where, _clip(error.message))


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 3] + "..."


def _load(spec_dir: Path, name: str) -> dict[str, Any]:
    with (spec_dir / name).open(encoding="utf-8") as handle:
        return json.load(handle)


@functools.cache
def sendgrid_mail_contract(spec_dir: Path | None = None) -> Contract:
    """SendGrid's mail document, with the message-level ``custom_args`` node corrected to an object of strings."""
    document = _load(spec_dir or vendor_specs_dir(), SENDGRID_MAIL_DOCUMENT)
    schema = document["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"]["schema"]
    schema["properties"]["custom_args"] = {"type": "object", "additionalProperties": {"type": "string"}}
    return Contract(document)


@functools.cache
def twilio_api_contract(spec_dir: Path | None = None) -> Contract:
    """Twilio's 2010-04-01 document (``CreateMessage`` is the operation the servers serve)."""
    return Contract(_load(spec_dir or vendor_specs_dir(), TWILIO_API_DOCUMENT))
