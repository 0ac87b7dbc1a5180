from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from .models import Member, SalesRole, Tenant
from .services import email_problem, normalize_email


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That email and password do not match an account. Check both and try again."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Django sizes the field to the username (150); the login is the email (254).
        longest = get_user_model()._meta.get_field("email").max_length
        self.fields["username"].max_length = longest
        self.fields["username"].widget.attrs["maxlength"] = longest


class ServiceErrorsMixin:
    """Show a service's ValidationError next to the field it names (else above the form)."""

    def add_service_errors(self, exc: ValidationError) -> None:
        for field, messages in exc.message_dict.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class SalesRoleFields(forms.Form):
    """A member's sales role and whether it counts in the running cycle too."""

    sales_role = forms.ModelChoiceField(
        queryset=SalesRole.objects.none(),
        required=False,
        empty_label="None",
        help_text="What they do in sales: they hold the role's KPIs from the next cycle.",
    )
    sales_role_at_once = forms.BooleanField(
        required=False,
        label="Apply the sales role at once",
        help_text="The role's KPIs count in the running cycle too (its targets are derived "
        "again from who holds each role now).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sales_role"].queryset = SalesRole.objects.order_by("name")


class MemberAddForm(ServiceErrorsMixin, SalesRoleFields):
    name = forms.CharField(max_length=200)
    email = forms.CharField(max_length=320)  # checked as a login in the tenant by clean_email
    role = forms.ChoiceField(choices=Member.Role.choices, initial=Member.Role.REP)
    title = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        self.tenant = tenant
        super().__init__(*args, **kwargs)
        self.order_fields(["name", "email", "role", "title"])

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if problem := email_problem(email, tenant=self.tenant):
            raise ValidationError(problem)
        return email


class MemberEditForm(ServiceErrorsMixin, SalesRoleFields):
    name = forms.CharField(max_length=200)
    title = forms.CharField(max_length=200, required=False)
    role = forms.ChoiceField(choices=Member.Role.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["name", "title", "role"])


class ManagerField(forms.EmailField):
    """A manager picked by email among the members the viewer can see."""

    def __init__(self, *, members: object = None, **kwargs: object) -> None:
        self.members = members
        super().__init__(**kwargs)

    def clean(self, value: str) -> Member | None:
        email = super().clean(value)
        if not email:
            return None
        manager = self.members.filter(user__email__iexact=email).first()
        if manager is None:
            raise ValidationError(f"Nobody in your organization has the email {email}.")
        return manager


class MemberMoveForm(ServiceErrorsMixin, forms.Form):
    def __init__(self, *args: object, members: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reports_to"] = ManagerField(
            members=members, label="New manager's email", required=True
        )


class MemberDeactivateForm(ServiceErrorsMixin, forms.Form):
    def __init__(self, *args: object, members: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reports_to"] = ManagerField(
            members=members,
            label="Move their direct reports to (email)",
            required=False,
            help_text="Empty: their own manager.",
        )


class MembersImportForm(forms.Form):
    file = forms.FileField(label="CSV file (email,name,role,reports_to,title[,sales_role])")
    sales_role_at_once = forms.BooleanField(
        required=False,
        label="Apply sales roles at once",
        help_text="Roles given or taken count in the running cycle too; else from the next.",
    )


class ApiTokenForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        max_length=100, label="Token name", help_text="Where it is used, e.g. 'Salesforce sync'."
    )
