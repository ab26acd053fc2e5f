-- A claimed numbering batch is one row of hub.numbering_batches (its subjects in an array, in
-- the order sent) instead of a batch id marked on each of its queue rows: a claim updated every
-- queue row (three indexes) and the record deleted them again. A subject queued again gets a new
-- numbering_generation, and a batch's answer is recorded only for subjects still at the
-- generation it sent. Batches in flight at the upgrade keep their idempotency keys, subjects,
-- attempts and due times.
CREATE TABLE "hub"."numbering_batches" (
	"batch_id" text PRIMARY KEY NOT NULL,
	"tenant_code" text NOT NULL,
	"subject_ids" uuid[] NOT NULL,
	"generations" integer[] NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"last_error" text,
	"claimed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "hub"."subjects" ADD COLUMN "numbering_generation" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
INSERT INTO "hub"."numbering_batches" ("batch_id", "tenant_code", "subject_ids", "generations", "attempts", "next_attempt_at", "last_error", "claimed_at")
SELECT "batch_id", min("tenant_code"), array_agg("subject_id" ORDER BY "subject_id"), array_agg(0), max("attempts"),
       min("next_attempt_at"), max("last_error"), min("enqueued_at")
  FROM "hub"."numbering_queue" WHERE "batch_id" IS NOT NULL
 GROUP BY "batch_id";--> statement-breakpoint
DELETE FROM "hub"."numbering_queue" WHERE "batch_id" IS NOT NULL;--> statement-breakpoint
DROP INDEX "hub"."numbering_queue_due";--> statement-breakpoint
DROP INDEX "hub"."numbering_queue_batch";--> statement-breakpoint
CREATE INDEX "numbering_batches_due" ON "hub"."numbering_batches" USING btree ("next_attempt_at");--> statement-breakpoint
CREATE INDEX "numbering_queue_enqueued" ON "hub"."numbering_queue" USING btree ("enqueued_at");--> statement-breakpoint
ALTER TABLE "hub"."numbering_queue" DROP COLUMN "batch_id";--> statement-breakpoint
ALTER TABLE "hub"."numbering_queue" DROP COLUMN "attempts";--> statement-breakpoint
ALTER TABLE "hub"."numbering_queue" DROP COLUMN "next_attempt_at";--> statement-breakpoint
ALTER TABLE "hub"."numbering_queue" DROP COLUMN "last_error";