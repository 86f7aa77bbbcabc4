from . import two_factor
from .selectors import roles_of


def roles(request):
    """The signed-in user's active roles and member record, for the header and home page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from partyscore.core.notifications import unread_count

    my_roles = roles_of(user=user)

    def two_factor_offered():
        return two_factor.state(request)["offered"]  # worked out at login: no query per page

    return {
        "my_roles": my_roles,
        "my_member": getattr(user, "member", None),
        "unread_notifications": unread_count(user=user),
        "two_factor_offered": two_factor_offered,
    }
