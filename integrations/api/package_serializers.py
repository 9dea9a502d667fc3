"""API representations of package templates and package runs, and the request that starts a
package on a work item. Tenancy is checked here (a foreign id is a field error, never a leak);
the writes themselves are services in integrations/packages.py."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations import packages, selectors
from integrations.api.serializers import IntegrationSummarySerializer
from integrations.models import PackageRun, PackageTemplate, PackageTemplateElement

MAX_ELEMENTS = 500  # children per template: ten bulk calls, far more than any package we know
MAX_TARGETS = 20


class PackageElementSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(
        required=False, help_text="An existing element's id, to keep it (runs refer to it); leave out for a new one."
    )

    class Meta:
        model = PackageTemplateElement
        fields = ["id", "position", "summary", "description"]
        read_only_fields = ["position"]
        extra_kwargs = {"position": {"help_text": "Its place among the elements, from 1 (the order sent)."}}


class PackageTemplateSerializer(serializers.ModelSerializer):
    """A template; `elements`, when sent, replaces the list (in the order sent)."""

    elements = PackageElementSerializer(
        many=True, required=False, max_length=MAX_ELEMENTS, help_text="The children, in order."
    )

    class Meta:
        model = PackageTemplate
        fields = [
            "id",
            "name",
            "parent_issue_type",
            "parent_summary",
            "parent_description",
            "child_issue_type",
            "elements",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_name(self, name: str) -> str:
        others = selectors.package_templates_for_tenant(tenant=self.context["tenant"]).filter(name=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError("A template with this name exists already.")
        return name

    def validate_elements(self, elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [element["id"] for element in elements if "id" in element]
        known = set(self.instance.elements.values_list("id", flat=True)) if self.instance is not None else set()
        errors = {}
        for index, element in enumerate(elements):
            if "id" not in element:
                continue
            if element["id"] not in known:
                errors[str(index)] = {"id": [f"No element with id {element['id']} in this template."]}
            elif ids.count(element["id"]) > 1:
                errors[str(index)] = {"id": [f"Element {element['id']} is listed twice."]}
        if errors:
            # Keyed by position, as DRF reports the items' own field errors.
            raise serializers.ValidationError(errors)
        return elements

    def create(self, validated_data: dict[str, Any]) -> PackageTemplate:
        elements = validated_data.pop("elements", [])
        template = PackageTemplate(tenant=self.context["tenant"], **validated_data)
        return packages.package_template_save(template=template, elements=elements)

    def update(self, instance: PackageTemplate, validated_data: dict[str, Any]) -> PackageTemplate:
        elements = validated_data.pop("elements", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return packages.package_template_save(template=instance, elements=elements)


class PackageRunChildSerializer(serializers.Serializer):
    element = serializers.IntegerField(help_text="The template element's id.")
    summary = serializers.CharField()
    key = serializers.CharField(help_text="The child's key in the tool; empty until created.")
    url = serializers.CharField()
    linked = serializers.BooleanField(help_text="Whether it is a child of the parent in the tool yet.")
    error = serializers.CharField(help_text="Why the tool refused to create it on the last try.")


class PackageRunSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="package-run-detail", help_text="Where to follow the run.")
    integration = IntegrationSummarySerializer(read_only=True)
    template_name = serializers.CharField(source="plan.template", read_only=True)
    children = serializers.SerializerMethodField()

    class Meta:
        model = PackageRun
        fields = [
            "id",
            "url",
            "workitem",
            "template",
            "template_name",
            "integration",
            "project_key",
            "status",
            "error",
            "created",
            "total",
            "parent_key",
            "parent_url",
            "children",
            "tries",
            "created_at",
            "started_at",
            "finished_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "created": {"help_text": "Issues created so far, the parent included."},
            "total": {"help_text": "Issues the package has, the parent included."},
        }

    @extend_schema_field(PackageRunChildSerializer(many=True))
    def get_children(self, run: PackageRun) -> list[dict[str, Any]]:
        rows = []
        for child in run.plan.get("children", []):
            element = str(child["element"])
            made = run.child_keys.get(element, {})
            rows.append(
                {
                    "element": child["element"],
                    "summary": child["summary"],
                    "key": made.get("key", ""),
                    "url": made.get("url", ""),
                    "linked": made.get("linked", False),
                    "error": run.element_errors.get(element, ""),
                }
            )
        return PackageRunChildSerializer(rows, many=True).data


class PackageTargetSerializer(serializers.Serializer):
    integration = serializers.IntegerField(
        min_value=1, help_text="Id of one of the tenant's integrations that create packages (e.g. a Jira site)."
    )
    project_key = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64, help_text="The project the issues go to, e.g. 'SVC'."
    )
    elements = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=MAX_ELEMENTS,
        help_text="Ids of the template's elements to create as children; default: all of them.",
    )


class PackageStartSerializer(serializers.Serializer):
    """The template, and per target integration the project and the chosen elements."""

    template = serializers.IntegerField(min_value=1, help_text="Id of one of the tenant's package templates.")
    targets = PackageTargetSerializer(many=True, allow_empty=False, max_length=MAX_TARGETS)

    def validate_template(self, template_id: int) -> PackageTemplate:
        template = selectors.package_templates_for_tenant(tenant=self.context["tenant"]).filter(pk=template_id).first()
        if template is None:
            raise serializers.ValidationError("No package template with this id in your tenant.")
        return template

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        template: PackageTemplate = attrs["template"]
        integrations = {
            integration.pk: integration
            for integration in packages.package_integrations(
                integrations=selectors.integrations_for_tenant(tenant=self.context["tenant"])
            )
        }
        elements = {element.pk: element for element in template.elements.all()}
        errors, targets, seen = {}, [], set()
        for index, target in enumerate(attrs["targets"]):
            problems = self._target_problems(target, integrations, elements, seen)
            seen.add(target["integration"])
            if problems:
                errors[str(index)] = problems
            else:
                chosen = set(target.get("elements", elements))
                targets.append(
                    packages.PackageTarget(
                        integration=integrations[target["integration"]],
                        project_key=target["project_key"],
                        elements=[element for pk, element in elements.items() if pk in chosen],
                    )
                )
        if errors:
            raise serializers.ValidationError({"targets": errors})
        return {"template": template, "targets": targets}

    @staticmethod
    def _target_problems(target: dict, integrations: dict, elements: dict, seen: set) -> dict[str, list[str]]:
        problems: dict[str, list[str]] = {}
        integration = integrations.get(target["integration"])
        if integration is None:
            problems["integration"] = ["No integration with this id in your tenant creates packages."]
        elif not integration.is_active:
            problems["integration"] = ["This integration is paused; resume it first."]
        elif target["integration"] in seen:
            problems["integration"] = ["This integration is a target twice."]
        if unknown := sorted(set(target.get("elements", [])) - set(elements)):
            problems["elements"] = [f"No element with id {', '.join(map(str, unknown))} in this template."]
        return problems


class PackageRunsStartedSerializer(serializers.Serializer):
    runs = PackageRunSerializer(many=True, help_text="One run per target, queued; follow each at its `url`.")
