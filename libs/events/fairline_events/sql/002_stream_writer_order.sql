-- Which transaction last appended to each stream. A transaction may only append after a
-- writer with a lower transaction id: readers of the global order sort by transaction id,
-- so this keeps every stream's versions in order for them (see store._claim_versions).
ALTER TABLE streams ADD COLUMN IF NOT EXISTS last_tx_id xid8 NOT NULL DEFAULT '0'::xid8;
