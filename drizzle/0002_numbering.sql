CREATE SCHEMA "insurer";
--> statement-breakpoint
CREATE TABLE "insurer"."eligibility_links" (
	"pmh_id" text PRIMARY KEY NOT NULL,
	"binding_number" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "insurer"."insured_persons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"my_number_index" "bytea" NOT NULL,
	"sealed" "bytea" NOT NULL,
	"binding_number" text NOT NULL,
	"insurer_number" text NOT NULL,
	"pmh_id" text,
	"numbered_at" timestamp with time zone,
	CONSTRAINT "insured_persons_my_number_index_unique" UNIQUE("my_number_index"),
	CONSTRAINT "insured_persons_binding_number_unique" UNIQUE("binding_number"),
	CONSTRAINT "insured_persons_pmh_id_unique" UNIQUE("pmh_id")
);
--> statement-breakpoint
CREATE TABLE "insurer"."numbering_requests" (
	"idempotency_key" text PRIMARY KEY NOT NULL,
	"answer" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hub"."numbering_queue" (
	"subject_id" uuid PRIMARY KEY NOT NULL,
	"tenant_code" text NOT NULL,
	"batch_id" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"enqueued_at" timestamp with time zone NOT NULL,
	"last_error" text
);
--> statement-breakpoint
ALTER TABLE "hub"."subjects" ADD COLUMN "suspended_by_cross_check" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "hub"."subjects" ADD COLUMN "numbering_status" text DEFAULT 'pending' NOT NULL;--> statement-breakpoint
ALTER TABLE "hub"."subjects" ADD COLUMN "numbering_reasons" text;--> statement-breakpoint
ALTER TABLE "hub"."subjects" ADD COLUMN "numbered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "hub"."numbering_queue" ADD CONSTRAINT "numbering_queue_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "hub"."subjects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "insured_persons_insurer" ON "insurer"."insured_persons" USING btree ("insurer_number");--> statement-breakpoint
CREATE INDEX "numbering_queue_due" ON "hub"."numbering_queue" USING btree ("next_attempt_at");--> statement-breakpoint
CREATE INDEX "numbering_queue_batch" ON "hub"."numbering_queue" USING btree ("batch_id");