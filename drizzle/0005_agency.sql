CREATE SCHEMA "agency";
--> statement-breakpoint
CREATE TABLE "agency"."agencies" (
	"agency_id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"cert_pem" text NOT NULL,
	"registered_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agency"."inquiries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"request_id" text NOT NULL,
	"requester_id" text NOT NULL,
	"provider_id" text NOT NULL,
	"procedure" text NOT NULL,
	"items" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"permit_id" text,
	"entry_id" text,
	"provider_code" text,
	"pending_items" text,
	"answer" text,
	"decided_by" text,
	"created_at" timestamp with time zone NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "agency"."provision_codes" (
	"agency_id" text NOT NULL,
	"code" text NOT NULL,
	"person_digest" "bytea" NOT NULL,
	CONSTRAINT "provision_codes_agency_id_code_pk" PRIMARY KEY("agency_id","code")
);
--> statement-breakpoint
CREATE TABLE "agency"."replicas" (
	"provider_id" text NOT NULL,
	"code" text NOT NULL,
	"item_code" text NOT NULL,
	"sealed" "bytea" NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "replicas_provider_id_code_item_code_pk" PRIMARY KEY("provider_id","code","item_code")
);
--> statement-breakpoint
CREATE INDEX "inquiries_provider_status" ON "agency"."inquiries" USING btree ("provider_id","status");--> statement-breakpoint
CREATE INDEX "inquiries_completed" ON "agency"."inquiries" USING btree ("completed_at");--> statement-breakpoint
CREATE INDEX "provision_codes_person" ON "agency"."provision_codes" USING btree ("person_digest","agency_id");