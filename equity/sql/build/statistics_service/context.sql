-- A statistics-service file's school rows as school context. Slots: table; address, the
-- full_address column (null when the file has none), from whose end the postcode is read; exprs,
-- the context columns (each a quoted source column as our name, or null as our name).
-- Parameters: $start (the file's start year), $version, $file.
insert into school_context_all by name
select cast(trim(school_urn) as integer) as urn, 4 as key_stage, $start as start_year,
       academic_year($start) as academic_year, $version as version, $file as source_file,
       'KS2 average scaled score' as prior_scale,
       nullif(trim(regexp_extract({address}, '([A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2})\s*$', 1)), '') as postcode,
       {exprs}
from {table} where geographic_level = 'School';
