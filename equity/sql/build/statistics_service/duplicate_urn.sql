-- The first URN that appears on more than one school row of a statistics-service file, with its
-- rows (slot: table).
select school_urn, list(_row order by _row) rows_ from {table} where geographic_level = 'School'
group by 1 having count(*) > 1 order by min(_row) limit 1;
