CREATE TABLE "hub"."entitlement_index" (
	"entitlement_id" uuid PRIMARY KEY NOT NULL,
	"pmh_id" text NOT NULL,
	"tenant_code" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"sealed" "bytea" NOT NULL,
	"is_not_disclosed" boolean NOT NULL,
	"viewing_suspended" boolean NOT NULL,
	"valid_from" date NOT NULL,
	"valid_to" date,
	"forced_expiry_date" date,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hub"."pseudonyms" (
	"pseudonym" text PRIMARY KEY NOT NULL,
	"pmh_id" text NOT NULL,
	"card_serial_digest" "bytea" NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hub"."used_linkage_keys" (
	"jti" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "hub"."entitlement_index" ADD CONSTRAINT "entitlement_index_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "hub"."subjects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "entitlement_index_pmh_id" ON "hub"."entitlement_index" USING btree ("pmh_id");--> statement-breakpoint
CREATE INDEX "entitlement_index_subject" ON "hub"."entitlement_index" USING btree ("subject_id");