-- Claiming an incident walks the pending ones in id order and stops at the first it may run
-- (store/leases.rs). On (status) alone the planner walked the primary key instead, reading
-- every closed incident older than the first pending one on each claim.
DROP INDEX incidents_status;
CREATE INDEX incidents_status ON incidents(status, id);
