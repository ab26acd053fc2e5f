-- A row outcome's file is not checked by a foreign key: rows are written only by the worker that
-- holds the file's lease, in the transaction that moves its cursor, and a file is never deleted
-- once it has rows. The check cost a query and a lock of the file's row per outcome (~12 ms of
-- each 1,000-row batch on the bench host).
ALTER TABLE "intake"."linkage_file_rows" DROP CONSTRAINT "linkage_file_rows_file_id_linkage_files_id_fk";
