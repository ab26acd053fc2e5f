CREATE SCHEMA "outbox";
--> statement-breakpoint
CREATE TABLE "outbox"."batches" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_code" text NOT NULL,
	"business_id" text NOT NULL,
	"state" text NOT NULL,
	"record_count" integer NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "outbox"."messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_code" text NOT NULL,
	"business_id" text NOT NULL,
	"client_id" text NOT NULL,
	"source_kind" text NOT NULL,
	"source_id" uuid NOT NULL,
	"source_index" integer NOT NULL,
	"sealed" "bytea",
	"state" text NOT NULL,
	"batch_id" uuid,
	"batch_pos" integer,
	"attempts" integer DEFAULT 0 NOT NULL,
	"outcome" text,
	"subject_id" uuid,
	"errors" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox"."submissions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_code" text NOT NULL,
	"business_id" text NOT NULL,
	"client_id" text NOT NULL,
	"request_id" text,
	"record_count" integer NOT NULL,
	"received_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "intake"."linkage_files" ADD COLUMN "queued" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "intake"."linkage_files" ADD COLUMN "given_up" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_batches_one_open" ON "outbox"."batches" USING btree ("tenant_code","business_id") WHERE state = 'open';--> statement-breakpoint
CREATE INDEX "outbox_batches_due" ON "outbox"."batches" USING btree ("next_attempt_at") WHERE state = 'open';--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_messages_source" ON "outbox"."messages" USING btree ("source_kind","source_id","source_index");--> statement-breakpoint
CREATE INDEX "outbox_messages_queued" ON "outbox"."messages" USING btree ("tenant_code","business_id","id") WHERE state = 'queued' and batch_id is null;--> statement-breakpoint
CREATE INDEX "outbox_messages_batch" ON "outbox"."messages" USING btree ("batch_id","batch_pos");--> statement-breakpoint
CREATE INDEX "outbox_messages_subject" ON "outbox"."messages" USING btree ("subject_id");--> statement-breakpoint
CREATE INDEX "outbox_messages_open" ON "outbox"."messages" USING btree ("created_at") WHERE state in ('queued', 'sent');--> statement-breakpoint
CREATE INDEX "outbox_submissions_tenant" ON "outbox"."submissions" USING btree ("tenant_code","business_id","received_at");