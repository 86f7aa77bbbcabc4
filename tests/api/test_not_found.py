from django.urls import reverse


def test_an_unknown_object_is_not_found_in_chinese(world, client):
    """DRF passes Django's English 'No Period matches the given query.' on; the API says 未找到 instead."""
    member = world.a1_members[0]
    client.force_login(member.user)
    response = client.post(
        reverse("api_self_assessment", args=[1000000]),
        {"claims": [], "note": "", "submit": False},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "未找到。"}
