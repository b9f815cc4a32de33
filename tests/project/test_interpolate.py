"""Compose interpolation: compose-go's template test table, ported as data, plus the Compose Specification's cases."""

from __future__ import annotations

import pytest

from dockdoctor.project.interpolate import InterpolationError, _split_braced, interpolate

# Ported as data from compose-spec/compose-go@e70e961c3a3acebf0800b882f1afb3dbf1fb74a2/template/template_test.go
# (the `defaults` mapping and the expectations of TestEscaped ... TestValueWithCurlyBracesDefault).
DEFAULTS = {"FOO": "first", "BAR": "", "JSON": '{"json":2}'}

SUBSTITUTIONS: tuple[tuple[str, str], ...] = (
    # TestEscaped, TestSubstituteNoMatch, TestUnescaped
    ("$${foo}", "${foo}"),
    ("foo", "foo"),
    ("a $ string", "a $ string"),
    ("^REGEX$", "^REGEX$"),
    ("$}", "$}"),
    ("$", "$"),
    # TestNonBraced (docker/compose#8601)
    ("$FOO-bar", "first-bar"),
    # TestNoValueNoDefault, TestValueNoDefault
    ("This ${missing} var", "This  var"),
    ("This ${BAR} var", "This  var"),
    ("This $FOO var", "This first var"),
    ("This ${FOO} var", "This first var"),
    # TestNoValueWithDefault
    ("ok ${missing:-def}", "ok def"),
    ("ok ${missing-def}", "ok def"),
    # TestLazyDefaultDoesNotWarn, TestLazyDefaultWarnsWhenUsed
    ("${A:+${A},}B", "B"),
    ("${A:-${B}}", ""),
    # TestEmptyValueWithSoftDefault ... TestNonAlphanumericDefault
    ("ok ${BAR:-def}", "ok def"),
    ("ok ${FOO:-def}", "ok first"),
    ("ok ${BAR-def}", "ok "),
    ("ok ${UNSET_VAR:+presence_value}", "ok "),
    ("ok ${UNSET_VAR+presence_value}", "ok "),
    ("ok ${FOO:+presence_value}", "ok presence_value"),
    ("ok ${FOO+presence_value}", "ok presence_value"),
    ("ok ${BAR+presence_value}", "ok presence_value"),
    ("ok ${BAR:+presence_value}", "ok "),
    ("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric"),
    # TestInterpolationExternalInterference
    ("-ok ${BAR:-defaultValue}", "-ok defaultValue"),
    ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
    ("-ok ${FOO:-defaultValue}", "-ok first"),
    (":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
    (":-ok ${BAR-defaultValue}", ":-ok "),
    (":?ok ${BAR-defaultValue}", ":?ok "),
    (":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
    (":+ok ${BAR:-defaultValue}", ":+ok defaultValue"),
    ("+ok ${BAR-defaultValue}", "+ok "),
    ("?ok ${BAR:-defaultValue}", "?ok defaultValue"),
    # TestDefaultsWithNestedExpansion
    ("ok ${UNSET_VAR-$FOO}", "ok first"),
    ("ok ${UNSET_VAR-${FOO}}", "ok first"),
    ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
    ("ok ${BAR:-$FOO}", "ok first"),
    ("ok ${BAR:-${FOO}}", "ok first"),
    ("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
    ("ok ${BAR+$FOO}", "ok first"),
    ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second"),
    # TestDefaultsForMandatoryVariables
    ("ok ${FOO:?err}", "ok first"),
    ("ok ${FOO?err}", "ok first"),
    ("ok ${BAR?err}", "ok "),
    # TestPrecedence (the successful rows)
    ("${UNSET_VAR-myerror?msg}", "myerror?msg"),
    ("${FOO?bar-baz}", "first"),
    ("${BAR:-default_value_for_empty_var}", "default_value_for_empty_var"),
    ("${UNSET_VAR-default_value_for_unset_var}", "default_value_for_unset_var"),
    # TestSubstituteWithReplacementFunc (the default-function row)
    ("ok ${SUBDOMAIN:-redis}.${FOO:?}", "ok redis.first"),
    # TestNoValueWithCurlyBracesDefault, TestValueWithCurlyBracesDefault
    ('ok ${missing:-{"json":1}}', 'ok {"json":1}'),
    ('ok ${missing-{"json":1}}', 'ok {"json":1}'),
    ('ok ${JSON:-{"json":1}}', 'ok {"json":2}'),
    ('ok ${JSON-{"json":1}}', 'ok {"json":2}'),
    # TestLazyRequiredMessageDoesNotWarn needs A set: see test_lazy_required_message below
)

# TestInvalid
INVALID: tuple[str, ...] = ("${", "${}", "${ }", "${ foo}", "${foo }", "${foo!}")

# TestMandatoryVariableErrors, TestMandatoryVariableErrorsWithNestedExpansion, TestPrecedence (error row):
# (template, variable, compose-go's message, which ours must contain)
REQUIRED: tuple[tuple[str, str, str], ...] = (
    (
        "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
        "UNSET_VAR",
        "required variable UNSET_VAR is missing a value: Mandatory Variable Unset",
    ),
    (
        "not ok ${BAR:?Mandatory Variable Empty}",
        "BAR",
        "required variable BAR is missing a value: Mandatory Variable Empty",
    ),
    ("not ok ${UNSET_VAR:?}", "UNSET_VAR", "required variable UNSET_VAR is missing a value"),
    (
        "not ok ${UNSET_VAR?Mandatory Variable Unset}",
        "UNSET_VAR",
        "required variable UNSET_VAR is missing a value: Mandatory Variable Unset",
    ),
    ("not ok ${UNSET_VAR?}", "UNSET_VAR", "required variable UNSET_VAR is missing a value"),
    (
        "not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}",
        "UNSET_VAR",
        "required variable UNSET_VAR is missing a value: Mandatory Variable first",
    ),
    (
        "not ok ${UNSET_VAR?Mandatory Variable ${FOO}}",
        "UNSET_VAR",
        "required variable UNSET_VAR is missing a value: Mandatory Variable first",
    ),
    ("${UNSET_VAR?bar-baz}", "UNSET_VAR", "required variable UNSET_VAR is missing a value: bar-baz"),
)

# TestSubstitutionFunctionChoice: the first operator after the name wins (body of `${...}`, operator)
OPERATOR_CHOICE: tuple[tuple[str, str], ...] = (
    ("VARNAME:?val?ue", ":?"),
    ("VARNAME?val:?ue", "?"),
    ("VARNAME?va-lu+e:?e", "?"),
    ("VARNAME?va+lu-e:?e", "?"),
    ("VARNAME:-value", ":-"),
    ("VARNAME-va:-lu:?e", "-"),
    ("VARNAME-va+lu?e", "-"),
    ("VARNAME-va?lu+e", "-"),
    ("VARNAME:+va:?lu:-e", ":+"),
    ("VARNAME+va:+lue", "+"),
    ("VARNAME+va?lu-e", "+"),
    ("VARNAME+va-lu?e", "+"),
)

# The Compose Specification's interpolation section (compose-spec/spec.md "Interpolation"), with
# DB_TAG=16, EMPTY="" and no UNSET.
SPEC_ENV = {"DB_TAG": "16", "EMPTY": "", "VARIABLE": "value"}
SPEC: tuple[tuple[str, str], ...] = (
    ("postgres:${DB_TAG}", "postgres:16"),
    ("postgres:$DB_TAG", "postgres:16"),
    ("${UNSET:-default}", "default"),
    ("${EMPTY:-default}", "default"),
    ("${UNSET-default}", "default"),
    ("${EMPTY-default}", ""),
    ("${VARIABLE:+replacement}", "replacement"),
    ("${EMPTY:+replacement}", ""),
    ("${EMPTY+replacement}", "replacement"),
    ("${UNSET+replacement}", ""),
    ("${UNSET:-${FOO:-x}}", "x"),
    ("${UNSET:-${DB_TAG:-x}}", "16"),
    ("$$VARIABLE", "$VARIABLE"),
    ("$${VARIABLE}", "${VARIABLE}"),
    ("cost: $$5", "cost: $5"),
    ("$DB_TAG$DB_TAG", "1616"),
    ("${DB_TAG}-alpine", "16-alpine"),
    ("$DB_TAG.1", "16.1"),
    ("a $ b", "a $ b"),
    ("linux/${ARCH:-amd64}", "linux/amd64"),
    ("", ""),
)


@pytest.mark.parametrize(("template", "expected"), SUBSTITUTIONS)
def test_compose_go_substitutions(template: str, expected: str) -> None:
    assert interpolate(template, DEFAULTS) == expected


@pytest.mark.parametrize("template", INVALID)
def test_compose_go_invalid_templates(template: str) -> None:
    with pytest.raises(InterpolationError, match="(?i)invalid template") as caught:
        interpolate(template, DEFAULTS)
    assert caught.value.variable is None


@pytest.mark.parametrize(("template", "variable", "message"), REQUIRED)
def test_compose_go_required_variables(template: str, variable: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate(template, DEFAULTS)
    assert message in str(caught.value)
    assert caught.value.variable == variable
    assert "set it in .env or the environment" in str(caught.value)


@pytest.mark.parametrize(("body", "operator"), OPERATOR_CHOICE)
def test_compose_go_operator_choice(body: str, operator: str) -> None:
    assert _split_braced(body, "${" + body + "}")[1] == operator


def test_lazy_required_message() -> None:
    assert interpolate("${A?${B}}", {"A": "value"}) == "value"  # the message is not evaluated when A is set


@pytest.mark.parametrize(("template", "expected"), SPEC)
def test_spec_cases(template: str, expected: str) -> None:
    assert interpolate(template, SPEC_ENV) == expected


def test_error_names_variable_and_says_what_to_do() -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate("postgres:${DB_TAG:?}", {})
    assert str(caught.value) == "required variable DB_TAG is missing a value: set it in .env or the environment"
    assert isinstance(caught.value, ValueError)


def test_error_in_default_is_raised_only_when_the_default_is_used() -> None:
    assert interpolate("${A:-${B:?}}", {"A": "x"}) == "x"
    with pytest.raises(InterpolationError, match="required variable B"):
        interpolate("${A:-${B:?}}", {})


def test_unbalanced_default_braces_use_the_last_brace_like_compose() -> None:
    assert interpolate("${A:-{x}", {}) == "{x"
