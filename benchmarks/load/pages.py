"""What each simulated role opens: plain data, read by the locustfile and checked by the tests.

Neither Django nor locust is imported here: the locustfile must not import Django (locust patches
the standard library with gevent), and the tests must not import locust.

A page is (URL name, path template, weight). Placeholders are filled from the account's entry in
the plan (benchmarks/load/plan.py); a list there means "one of these, at random". A page whose
placeholders the account lacks is skipped for that account (a Policy B member does no
self-assessment). The URL name labels the figures and lets tests/test_load_pages.py check that
every path still resolves to that view.
"""

# Read-heavy by design: on a working day most requests are reads of dashboards, lists and cards.
PAGES = {
    "committee": [
        ("home", "/", 3),
        ("dashboard_org", "/dashboard/org/{committee}/", 4),
        ("dashboard_drill", "/dashboard/org/{committee}/members/?metric=scored&year={year}", 1),
        ("college_board", "/dashboard/board/{college}/", 1),
        ("supervision", "/dashboard/supervision/{committee}/", 1),
        ("org_tree", "/orgs/", 1),
        ("member_list", "/orgs/{college}/members/", 2),
        ("member_detail", "/members/{member}/", 1),
        ("points_card", "/members/{member}/card/", 1),
        ("ledger", "/ledger/{branch}/", 1),
        ("audit_list", "/audit/", 1),
        ("exemption_queue", "/exemptions/", 1),
        ("escalations", "/reviews/escalations/", 1),
    ],
    "college": [
        ("home", "/", 3),
        ("dashboard_org", "/dashboard/org/{college}/", 3),
        ("dashboard_branch", "/dashboard/branch/{branch}/", 2),
        ("dashboard_drill", "/dashboard/org/{college}/members/?metric=self_missing&period={period}&year={year}", 1),
        ("college_board", "/dashboard/board/{college}/", 1),
        ("member_list", "/orgs/{college}/members/", 2),
        ("ledger", "/ledger/{college}/", 1),
        ("points_card", "/members/{member}/card/", 1),
        ("supervision", "/dashboard/supervision/{college}/", 1),
        ("escalations", "/reviews/escalations/", 1),
    ],
    "branch": [
        ("home", "/", 3),
        ("branch_reviews", "/reviews/branch/{branch}/", 3),
        ("ledger", "/ledger/{branch}/", 3),
        ("entry_record", "/ledger/{branch}/record/", 1),
        ("member_list", "/orgs/{branch}/members/", 2),
        ("member_detail", "/members/{member}/", 1),
        ("points_card", "/members/{member}/card/", 2),
        ("board", "/board/{branch}/", 1),
        ("dashboard_branch", "/dashboard/branch/{branch}/", 2),
        ("panel_board", "/reviews/panel/{branch}/{period}/", 1),
        ("determination", "/reviews/determination/{branch}/{year}/", 1),
        ("mass_results", "/reviews/mass/{branch}/results/", 1),
        ("follow_ups", "/reviews/follow-ups/", 1),
        ("notifications", "/notifications/", 1),
    ],
    "member": [
        ("home", "/", 3),
        ("my_reviews", "/reviews/me/", 2),
        ("points_card", "/members/{me}/card/", 3),
        ("dashboard_me", "/dashboard/me/", 2),
        ("self_assessment", "/reviews/self/{self_period}/", 2),
        ("my_pledges", "/reviews/pledges/", 1),
        ("notifications", "/notifications/", 1),
    ],
    "panelist": [
        ("home", "/", 2),
        ("panel_board", "/reviews/panel/{branch}/{period}/", 3),
        ("panel_member", "/reviews/panel/{branch}/{period}/{member}/", 4),
        ("points_card", "/members/{me}/card/", 1),
    ],
    "mass": [
        ("home", "/", 2),
        ("mass_form", "/reviews/mass/{branch}/", 3),
        ("notifications", "/notifications/", 1),
    ],
}

# The writes, each a GET of the form then a POST of it (see the locustfile); same format, and
# the weight is the task's weight beside the reads above.
WRITES = {
    "member": ("self_assessment", "/reviews/self/{self_period}/", 2),
    "branch": ("entry_record", "/ledger/{branch}/record/", 1),
    "panelist": ("panel_member", "/reviews/panel/{branch}/{period}/{member}/", 3),
    "mass": ("mass_form", "/reviews/mass/{branch}/", 1),  # once per account: one evaluation a year
}
LOGIN = ("login", "/accounts/login/")
# The benchmark's trivial view (benchmarks/load/urls.py): the ceiling the wrk run compares pages with.
TRIVIAL = "/bench/trivial/"

# A member opens the site on a phone.
ROLES_ON_PHONES = {"member"}
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
