-- An entitlement row is ~2.1 KB: its envelope (~950 bytes) and its read-model face (~1,000
-- bytes) are both AES-GCM ciphertext. Above ~2 KB PostgreSQL's toaster tried to compress the
-- largest value (ciphertext does not compress) and then moved it to the TOAST table: two of
-- three entitlement rows cost a second heap row, a TOAST index entry and a failed compression
-- on insert, and a detour on read (68,398 TOAST chunks for 100,000 entitlements). The rows stay
-- whole on their page up to 8,160 bytes (toast_tuple_target); a longer one is still moved out.
-- The ciphertext columns that can be large (the entitlements' envelope and face, the subjects'
-- envelope, the stored upload's chunks) are never offered to compression (STORAGE EXTERNAL).
ALTER TABLE "hub"."entitlements" SET (toast_tuple_target = 8160);--> statement-breakpoint
ALTER TABLE "hub"."entitlements" ALTER COLUMN "sealed" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "hub"."entitlements" ALTER COLUMN "face" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "hub"."subjects" ALTER COLUMN "sealed" SET STORAGE EXTERNAL;
--> statement-breakpoint
ALTER TABLE "intake"."linkage_file_chunks" ALTER COLUMN "sealed" SET STORAGE EXTERNAL;
