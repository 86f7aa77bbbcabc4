"""The printable points card and points board: A4 print stylesheet, no navigation, signature lines."""

from django.urls import reverse


def test_the_points_card_prints_with_a_header_block_every_column_and_signatures(io_world, login):
    w = io_world
    member = w.a1_members[0]
    client = login(w.secretary)
    screen = client.get(reverse("points_card", args=[member.pk])).content.decode()
    assert 'href="/static/css/print.css" media="print"' in screen and "navbar" in screen
    assert reverse("export_member", args=[member.pk]) in screen and "打印版" in screen
    page = client.get(reverse("points_card", args=[member.pk]), {"print": "1"}).content.decode()
    assert 'href="/static/css/print.css" media="all"' in page and 'class="print-view"' in page
    assert "navbar" not in page and "<footer" not in page
    for text in (
        "年度党员积分卡",
        member.number,
        "评分标准",
        "审核人",
        "党员本人（签字）",
        "记分员（签字）",
        "党支部书记（签字）",
        "拟定结果",
    ):
        assert text in page, text


def test_the_board_prints_with_signatures_and_offers_its_exports(io_world, login):
    w = io_world
    client = login(w.secretary)
    screen = client.get(reverse("board", args=[w.A1.pk])).content.decode()
    assert reverse("export_org", args=[w.A1.pk]) in screen and 'value="publicity"' in screen
    page = client.get(reverse("board", args=[w.A1.pk]), {"print": "1"}).content.decode()
    assert "navbar" not in page and "年度党员积分榜" in page and "党支部书记（签字）" in page


def test_the_print_stylesheet_sets_a4_and_hides_the_navigation(client):
    css = b"".join(client.get("/static/css/print.css").streaming_content).decode()
    assert "size: A4" in css and "nav.navbar" in css and ".signature-lines" in css


def test_the_menu_offers_exports_to_ledger_viewers_only(io_world, login):
    w = io_world
    assert reverse("export_center") in login(w.secretary).get(reverse("home")).content.decode()
    assert reverse("export_center") not in login(w.member).get(reverse("home")).content.decode()
    assert reverse("export_center") not in login(w.mass_rep).get(reverse("home")).content.decode()
