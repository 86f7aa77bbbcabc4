from .selectors import roles_of


def roles(request):
    """The signed-in user's active roles and member record, for the header and home page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from reviews.selectors import unread_count

    return {"my_roles": roles_of(user=user), "my_member": getattr(user, "member", None),
            "unread_notifications": unread_count(user=user)}
