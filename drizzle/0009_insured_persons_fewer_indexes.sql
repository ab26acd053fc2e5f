-- Numbering updates insured_persons.pmh_id and numbered_at for every person it numbers, and a
-- non-HOT update writes an entry into each of the table's indexes. No query reads by pmh_id
-- (a PMH-ID stays unique through eligibility_links' primary key, written in the same
-- statement) or by insurer_number: both indexes go. Room left on each page lets the update be
-- HOT (no index entries at all) where the page has space for the new row version.
ALTER TABLE "insurer"."insured_persons" DROP CONSTRAINT "insured_persons_pmh_id_unique";--> statement-breakpoint
DROP INDEX "insurer"."insured_persons_insurer";--> statement-breakpoint
ALTER TABLE "insurer"."insured_persons" SET (fillfactor = 85);
