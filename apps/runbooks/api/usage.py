"""`/api/v1/credentials/{id}/usage/`: the runbooks that use a credential, and revoking their use.

It lives with the runbooks because a revocation binds a credential to a runbook, and the layers
let runbooks know credentials, not the other way round.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from apps.credentials import roles as credential_roles
from apps.credentials.selectors import credential_for_user
from apps.runbooks import usage


class UseSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="runbook_id")
    title = serializers.CharField(allow_null=True)
    archived = serializers.BooleanField()
    revoked = serializers.BooleanField()


class UsageSerializer(serializers.Serializer):
    runbooks = UseSerializer(many=True, source="visible", help_text="Runbooks you may see, by title.")
    hidden_count = serializers.IntegerField(help_text="Runbooks using it that you may not see.")
    hidden = UseSerializer(
        many=True, required=False, help_text="Those runbooks by id (title null), for the credential's owners only."
    )


def _answer(credential, user) -> dict:
    found = usage.credential_usage(credential=credential, user=user)
    data = UsageSerializer(found).data
    if not usage.may_revoke(user, credential):
        data.pop("hidden", None)
    return data


@extend_schema(responses=UsageSerializer)
@api_view(["GET"])
def credential_usage(request: Request, pk: int) -> Response:
    credential = credential_for_user(request.user, pk)
    return Response(_answer(credential, request.user))


@extend_schema(request=None, responses={204: None})
@api_view(["DELETE", "PUT"])
def credential_usage_item(request: Request, pk: int, runbook_id: int) -> Response:
    """DELETE revokes the runbook's use of the credential; PUT gives it back. Owners only."""
    credential = credential_for_user(request.user, pk, credential_roles.SHARE)
    if request.method == "DELETE":
        usage.credential_usage_revoke(credential=credential, runbook_id=runbook_id, user=request.user)
    else:
        usage.credential_usage_restore(credential=credential, runbook_id=runbook_id, user=request.user)
    return Response(status=status.HTTP_204_NO_CONTENT)
