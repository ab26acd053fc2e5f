-- The read-model face of an entitlement, sealed with the read-model key when the row is
-- written, so numbering publishes it by copying it in SQL instead of opening the entitlement
-- and sealing its face. An update that does not set the face itself nulls it, so a face is
-- never older than its row (a null face is sealed the usual way when it is needed).
ALTER TABLE "hub"."entitlements" ADD COLUMN "face" "bytea";--> statement-breakpoint
CREATE OR REPLACE FUNCTION hub.entitlement_face_follows_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.face IS NOT DISTINCT FROM OLD.face THEN
    NEW.face := NULL;
  END IF;
  RETURN NEW;
END $$;--> statement-breakpoint
CREATE TRIGGER entitlements_face_follows_row BEFORE UPDATE ON hub.entitlements
  FOR EACH ROW EXECUTE FUNCTION hub.entitlement_face_follows_row();
