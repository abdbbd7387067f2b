"""KPI: the indicator catalogue, plans, facts, the monitor and drill-down, read from the store."""
