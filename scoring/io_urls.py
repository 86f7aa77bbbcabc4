"""URLs of the ledger exports, score imports and printable records (issue: ledger exports)."""

urlpatterns = []
