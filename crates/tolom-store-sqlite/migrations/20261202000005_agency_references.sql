-- tolom storage schema: an agency reference names one charge of a service.
--
--   * charges.agency_key   the agency reference of the charge that holds it
--                          (NULL for a charge without a reference). Unique
--                          per service (index charges_agency_key), so two
--                          requests with one reference can never both be
--                          issued, whatever the number of importers:
--                          `ChargeStore::insert_charge` refuses the second
--                          (SQLite reports "UNIQUE constraint failed:
--                          charges.service, charges.agency_key", which
--                          src/error.rs maps to DuplicateAgencyRef), and
--                          `charge_by_agency_ref` finds the holder.
--   * existing rows        references stored before this version were not
--                          unique (the admin API took any): the first charge
--                          of each (service, reference), by issue time then
--                          id, holds it; later ones keep their agency_ref
--                          as it was, holding nothing. No row is refused.
--
-- Forward-only: never edit this file, add a new one.

ALTER TABLE charges ADD COLUMN agency_key TEXT
    CONSTRAINT agency_key_is_ref CHECK (agency_key IS NULL OR agency_key = agency_ref);

UPDATE charges SET agency_key = agency_ref
WHERE agency_ref IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM charges AS older
      WHERE older.service = charges.service
        AND older.agency_ref = charges.agency_ref
        AND (older.issued_at < charges.issued_at
             OR (older.issued_at = charges.issued_at AND older.id < charges.id)));

CREATE UNIQUE INDEX charges_agency_key ON charges (service, agency_key)
    WHERE agency_key IS NOT NULL;
