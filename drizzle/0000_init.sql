CREATE SCHEMA "audit";
--> statement-breakpoint
CREATE SCHEMA "keys";
--> statement-breakpoint
CREATE SCHEMA "intake";
--> statement-breakpoint
CREATE SCHEMA "identity";
--> statement-breakpoint
CREATE SCHEMA "hub";
--> statement-breakpoint
CREATE TABLE "audit"."entries" (
	"tenant_code" text NOT NULL,
	"seq" bigint NOT NULL,
	"at" timestamp (3) with time zone NOT NULL,
	"actor_kind" text NOT NULL,
	"actor_id" text NOT NULL,
	"action" text NOT NULL,
	"subject_ref" text,
	"request_id" text,
	"detail" text,
	"prev_hash" "bytea" NOT NULL,
	"hash" "bytea" NOT NULL,
	CONSTRAINT "entries_tenant_code_seq_pk" PRIMARY KEY("tenant_code","seq")
);
--> statement-breakpoint
CREATE TABLE "audit"."heads" (
	"tenant_code" text PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "keys"."master_key_check" (
	"id" integer PRIMARY KEY NOT NULL,
	"kcv" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "keys"."tenant_keys" (
	"scope" text PRIMARY KEY NOT NULL,
	"wrapped" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "intake"."linkage_file_chunks" (
	"file_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"sealed" "bytea" NOT NULL,
	CONSTRAINT "linkage_file_chunks_file_id_seq_pk" PRIMARY KEY("file_id","seq")
);
--> statement-breakpoint
CREATE TABLE "intake"."linkage_file_rows" (
	"file_id" uuid NOT NULL,
	"row_no" integer NOT NULL,
	"line" integer NOT NULL,
	"outcome" text NOT NULL,
	"subject_id" uuid,
	"key_digest" "bytea",
	"errors" text,
	CONSTRAINT "linkage_file_rows_file_id_row_no_pk" PRIMARY KEY("file_id","row_no")
);
--> statement-breakpoint
CREATE TABLE "intake"."linkage_files" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigserial NOT NULL,
	"tenant_code" text NOT NULL,
	"business_id" text NOT NULL,
	"client_id" text NOT NULL,
	"file_name" text NOT NULL,
	"encoding" text,
	"byte_size" integer DEFAULT 0 NOT NULL,
	"chunk_count" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"cursor_row" integer DEFAULT 0 NOT NULL,
	"total_rows" integer,
	"created" integer DEFAULT 0 NOT NULL,
	"updated" integer DEFAULT 0 NOT NULL,
	"unchanged" integer DEFAULT 0 NOT NULL,
	"deleted" integer DEFAULT 0 NOT NULL,
	"not_found" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	"resume_count" integer DEFAULT 0 NOT NULL,
	"last_resumed_from" integer,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"failure" text,
	"request_id" text,
	"received_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	CONSTRAINT "linkage_files_seq_unique" UNIQUE("seq")
);
--> statement-breakpoint
CREATE TABLE "identity"."api_clients" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"tenant_code" text NOT NULL,
	"business_id" text NOT NULL,
	"token_hash" "bytea" NOT NULL,
	"scopes" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_clients_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "hub"."entitlements" (
	"id" uuid PRIMARY KEY NOT NULL,
	"subject_id" uuid NOT NULL,
	"tenant_code" text NOT NULL,
	"org_specific_certificate_type_id" text NOT NULL,
	"certification_sub_key" text DEFAULT '' NOT NULL,
	"sealed" "bytea" NOT NULL,
	"digest" "bytea" NOT NULL,
	"valid_from" date NOT NULL,
	"valid_to" date,
	"forced_expiry_date" date,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "entitlements_key" UNIQUE("subject_id","org_specific_certificate_type_id","certification_sub_key")
);
--> statement-breakpoint
CREATE TABLE "hub"."subjects" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_code" text NOT NULL,
	"business_id" text NOT NULL,
	"my_number_index" "bytea" NOT NULL,
	"sealed" "bytea" NOT NULL,
	"digest" "bytea" NOT NULL,
	"pmh_id" text,
	"is_not_disclosed" boolean DEFAULT false NOT NULL,
	"viewing_suspended" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "subjects_tenant_business_index" UNIQUE("tenant_code","business_id","my_number_index")
);
--> statement-breakpoint
CREATE TABLE "hub"."submissions" (
	"tenant_code" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"results" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"record_count" integer NOT NULL,
	CONSTRAINT "submissions_tenant_code_idempotency_key_pk" PRIMARY KEY("tenant_code","idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "hub"."tenants" (
	"municipality_code" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "intake"."linkage_file_chunks" ADD CONSTRAINT "linkage_file_chunks_file_id_linkage_files_id_fk" FOREIGN KEY ("file_id") REFERENCES "intake"."linkage_files"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "intake"."linkage_file_rows" ADD CONSTRAINT "linkage_file_rows_file_id_linkage_files_id_fk" FOREIGN KEY ("file_id") REFERENCES "intake"."linkage_files"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hub"."entitlements" ADD CONSTRAINT "entitlements_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "hub"."subjects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "linkage_file_rows_key" ON "intake"."linkage_file_rows" USING btree ("file_id","key_digest");--> statement-breakpoint
CREATE INDEX "linkage_files_tenant_status" ON "intake"."linkage_files" USING btree ("tenant_code","status","seq");