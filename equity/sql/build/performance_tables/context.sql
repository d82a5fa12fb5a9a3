-- A performance table's school rows as school context. Slots: table, rectype, urn, lea; exprs,
-- the context columns (each a cell expression over a quoted column as our name, or null as our
-- name). Parameters: $ks, $start (the file's start year), $version, $file, $prior_scale (the
-- scale of its prior attainment), $school (the school RECTYPE codes).
insert into school_context_all by name
select cast(trim({urn}) as integer) as urn, $ks as key_stage, $start as start_year,
       academic_year($start) as academic_year, $version as version, $file as source_file,
       trim({lea}) as la_code, trim({rectype}) as rectype, $prior_scale as prior_scale,
       {exprs}
from {table} where list_contains($school, trim({rectype}));
