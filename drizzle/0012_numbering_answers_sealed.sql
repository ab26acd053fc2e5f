-- The insurer server's stored answers to numbering requests carried each 個人番号 in clear
-- (the `answer` text). They are now sealed with the server's data key. The old answers cannot
-- be sealed here (the key is not in the database), so they are dropped: a batch retried with
-- one of their idempotency keys is answered afresh, and its persons, already numbered, get
-- their PMH-IDs again as `existing` (never a second PMH-ID).
DELETE FROM "insurer"."numbering_requests";--> statement-breakpoint
ALTER TABLE "insurer"."numbering_requests" ADD COLUMN "sealed" "bytea" NOT NULL;--> statement-breakpoint
ALTER TABLE "insurer"."numbering_requests" DROP COLUMN "answer";
