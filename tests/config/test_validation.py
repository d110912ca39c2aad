"""Pydantic errors of component configs as config issues: path, position, bad value, suggestion."""

from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from collector.component import ComponentConfig
from collector.config import issues_from_validation, load_config_text
from collector.configtypes import Duration


class Grpc(ComponentConfig):
    endpoint: str = Field("127.0.0.1:4317", description="where to listen")
    max_recv_msg_size_mib: int = Field(4, description="largest message")


class Protocols(ComponentConfig):
    grpc: Grpc | None = Field(None, description="gRPC listener")


class Route(ComponentConfig):
    match: str = Field(description="a required key")
    to: list[str] = Field(default_factory=list, description="exporters")


class Receiver(ComponentConfig):
    protocols: Protocols = Field(default_factory=Protocols, description="listeners")
    timeout: Duration = Field(5.0, description="per request")
    parser: Literal["json", "logfmt", "emf"] = Field("json", description="body format")
    password: str = Field("", description="shared secret")
    port: int = Field(4317, description="port")
    routes: list[Route] = Field(default_factory=list, description="routes")
    limits: dict[str, Grpc] = Field(default_factory=dict, description="per tenant")
    mode: int | str = Field(0, description="a union")
    workers: int = Field(1, description="consumers")

    @field_validator("workers")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be positive")
        return value


BASE = ("receivers", "otlp")


def check(body: str, env=None, model: type[BaseModel] | None = Receiver) -> list[str]:
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    loaded = load_config_text(f"receivers:\n  otlp:\n{indented}", "cfg.yaml", env or {})
    with pytest.raises(ValidationError) as caught:
        Receiver.model_validate(loaded.data["receivers"]["otlp"])
    return [str(issue) for issue in issues_from_validation(caught.value, BASE, loaded, model)]


def test_unknown_key_in_nested_model_suggests_its_fields():
    assert check("protocols:\n  grpc:\n    endpont: 0.0.0.0:4317") == [
        'cfg.yaml:5:9: receivers::otlp::protocols::grpc::endpont: unknown key "endpont"; did you mean "endpoint"?'
    ]


def test_unknown_key_at_top_of_model_suggests_its_fields():
    assert check("protocol: {}") == ['cfg.yaml:3:5: receivers::otlp::protocol: unknown key "protocol"; did you mean "protocols"?']


def test_unknown_key_through_list_and_dict():
    assert check("routes:\n  - {match: a, too: [x]}\nlimits:\n  tenant1: {endpoints: x}") == [
        'cfg.yaml:4:20: receivers::otlp::routes[0]::too: unknown key "too"; did you mean "to"?',
        'cfg.yaml:6:17: receivers::otlp::limits::tenant1::endpoints: unknown key "endpoints"; did you mean "endpoint"?',
    ]


def test_unknown_key_without_model_has_no_suggestion():
    assert check("protocol: {}", model=None) == ['cfg.yaml:3:5: receivers::otlp::protocol: unknown key "protocol"']


def test_unknown_key_far_from_any_field_has_no_suggestion():
    assert check("zzz: 1") == ['cfg.yaml:3:5: receivers::otlp::zzz: unknown key "zzz"']


def test_wrong_type_names_the_value():
    assert check("protocols:\n  grpc:\n    max_recv_msg_size_mib: lots") == [
        'cfg.yaml:5:9: receivers::otlp::protocols::grpc::max_recv_msg_size_mib: '
        'invalid value "lots": input should be a valid integer, unable to parse string as an integer'
    ]


def test_wrong_shape_says_mapping_or_list():
    assert check("protocols: 5\nroutes: {match: a}") == [
        "cfg.yaml:3:5: receivers::otlp::protocols: invalid value 5: expected a mapping",
        'cfg.yaml:4:5: receivers::otlp::routes: invalid value {"match": "a"}: expected a list',
    ]


def test_invalid_duration_message_comes_from_the_duration_type():
    assert check("timeout: fives") == [
        "cfg.yaml:3:5: receivers::otlp::timeout: invalid duration 'fives': "
        "expected a number with a unit, such as '5s', '250ms', '1m30s'"
    ]


def test_value_error_not_naming_the_value_gets_it_prefixed():
    assert check("workers: -2") == ["cfg.yaml:3:5: receivers::otlp::workers: invalid value -2: must be positive"]


def test_literal_choice_gets_a_suggestion():
    assert check("parser: jsn") == [
        "cfg.yaml:3:5: receivers::otlp::parser: invalid value \"jsn\": input should be 'json', 'logfmt' or 'emf'; "
        'did you mean "json"?'
    ]


def test_missing_required_key_points_at_its_parent():
    assert check("routes:\n  - {to: [x]}") == ['cfg.yaml:4:9: receivers::otlp::routes[0]::match: missing required key "match"']


def test_secret_values_are_not_shown():
    assert check("password: true") == [
        "cfg.yaml:3:5: receivers::otlp::password: invalid value [REDACTED]: input should be a valid string"
    ]


def test_a_numeric_value_fills_a_string_field():
    loaded = load_config_text("receivers:\n  otlp:\n    password: ${env:PASS}\n", "cfg.yaml", {"PASS": "12345"})
    assert Receiver.model_validate(loaded.data["receivers"]["otlp"]).password == "12345"


def test_value_from_an_env_reference_names_the_reference():
    assert check("port: ${env:PORT}", env={"PORT": "abc"}) == [
        'cfg.yaml:3:5: receivers::otlp::port: invalid value "abc" (from "${env:PORT}"): '
        "input should be a valid integer, unable to parse string as an integer"
    ]


def test_union_member_tags_are_not_part_of_the_path():
    assert check("mode: [1]") == [
        "cfg.yaml:3:5: receivers::otlp::mode: invalid value [1]: input should be a valid integer",
        "cfg.yaml:3:5: receivers::otlp::mode: invalid value [1]: input should be a valid string",
    ]


def test_long_values_are_cut():
    (issue,) = check("port: " + "x" * 100)
    assert issue == (
        'cfg.yaml:3:5: receivers::otlp::port: invalid value "' + "x" * 56 + '...: '
        "input should be a valid integer, unable to parse string as an integer"
    )


def test_validating_null_component_config_as_empty_mapping():
    loaded = load_config_text("receivers:\n  otlp:\n", "cfg.yaml", {})
    with pytest.raises(ValidationError) as caught:
        Route.model_validate({})
    (issue,) = issues_from_validation(caught.value, BASE, loaded, Route)
    assert str(issue) == 'cfg.yaml:2:3: receivers::otlp::match: missing required key "match"'
