-- A person's PMH-ID is its link (eligibility_links, by binding number), no longer also written
-- on the person's row: numbering inserted the link and updated the person (one more row
-- version per person numbered, and a row lock taken on every person read). The binding number
-- becomes unique in the links (one PMH-ID per person, which the row lock kept before), and
-- the person rows no longer need room for updates.
INSERT INTO "insurer"."eligibility_links" ("pmh_id", "binding_number", "created_at")
SELECT "pmh_id", "binding_number", coalesce("numbered_at", now()) FROM "insurer"."insured_persons"
 WHERE "pmh_id" IS NOT NULL ON CONFLICT DO NOTHING;--> statement-breakpoint
DROP INDEX "insurer"."eligibility_links_binding";--> statement-breakpoint
CREATE UNIQUE INDEX "eligibility_links_binding" ON "insurer"."eligibility_links" USING btree ("binding_number");--> statement-breakpoint
ALTER TABLE "insurer"."insured_persons" DROP COLUMN "pmh_id";--> statement-breakpoint
ALTER TABLE "insurer"."insured_persons" DROP COLUMN "numbered_at";--> statement-breakpoint
ALTER TABLE "insurer"."insured_persons" SET (fillfactor = 100);
