"""The API's settings (``JIGSAW_API_*``, or ``[api]``-free keys in ``jigsaw.toml``).

Kept beside, not inside, :class:`graph.settings.Settings`: the graph's settings choose
the engine and the data directory; these say who answers and how the API is run.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from graph.settings import Settings, config_file


class ApiSettings(BaseSettings):
    """Every field can be set as ``JIGSAW_API_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="JIGSAW_API_", extra="ignore")

    organisation: str = Field(
        default="Children's Services front door",
        description="The contact Organization's name in answers (the council's front door).",
    )
    phone: str = Field(default="", description="The contact's phone number.")
    email: str = Field(default="", description="The contact's email address.")
    address: str = Field(default="", description="The contact's postal address, one line.")
    postcode: str = Field(default="", description="The contact's postcode.")
    token_minutes: int = Field(default=15, ge=1, le=1440, description="Access token lifetime.")
    max_body_bytes: int = Field(
        default=1_000_000, ge=10_000, le=50_000_000, description="Larger requests get 413."
    )
    client_cert_header: str = Field(
        default="",
        description=(
            "The header a TLS-terminating proxy puts the verified client certificate in "
            "(URL-encoded PEM, as nginx's $ssl_client_escaped_cert). Empty (the default): "
            "no header is trusted, whatever a request carries."
        ),
    )
    candidate_limit: int = Field(
        default=200, ge=10, le=5_000, description="People scored at most for one enquiry."
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Worker processes serving the API (``jigsaw api --workers``), all over the one "
            "engine. Each enforces its share of a client's rate limit."
        ),
    )
    inbox_delay_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="Notifications wait this long for others before being loaded together.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)


def api_dir(settings: Settings) -> Path:
    """Where the API keeps its clients, token key and inbox."""
    return settings.data_dir / "api"


def model_path(settings: Settings) -> Path:
    """Where a load keeps its trained linkage model (``jigsaw load`` writes it)."""
    from loaders.scoring import MODEL_FILE

    return settings.data_dir / "loads" / MODEL_FILE
