"""Reads of the dashboards and boards (数据看板, 积分榜), each scoped to the acting user.

Every function here issues a fixed number of queries whatever the number of members and branches:
per-branch figures come from grouped queries (one row per branch, or per branch and step), never
one query per branch or per member. Those per-branch counts are stored (`BranchYearFacts`) and
recounted only for branches whose data changed, as the audit log tells (aggregating 30,000
members' records on every page view measured 1.4 s; see benchmarks/dashboard.py and
docs/performance.md). Deadlines and "today" are applied when a page is drawn.

Definitions used everywhere (the drill-down lists use the same ones):
- an *expected* member is active (has not left) and not exempted, in a branch with a scheme in force;
- a step is done as its one query in reviews/pipeline.py says: a member *submitted pledges* when
  every pledge of the year is submitted or approved (a returned one is not), and *has approved
  pledges* when at least one is approved and none is still a draft, submitted or returned;
- the histogram's bins include their lower edge and exclude their upper edge.
"""
