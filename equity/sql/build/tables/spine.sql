-- A performance-tables spine into school_spine. Parameters: $start (as census.sql), $file.
-- Slots: table (the staging table) and one per file column it reads (an optional column the file
-- lacks is null). Numbers are read with cell_value, text with nullif(trim(...)).
insert into school_spine by name
select try_cast(trim({URN}) as integer) as urn, nullif(trim({LA}), '') as la_code,
       nullif(trim({SCHNAME}), '') as name, nullif(trim({POSTCODE}), '') as postcode,
       nullif(trim({TOWN}), '') as town, nullif(trim({OPENDATE}), '') as open_date,
       nullif(trim({CLOSEDATE}), '') as close_date, nullif(trim({ICLOSE}), '') as is_open,
       nullif(trim({MINORGROUP}), '') as minor_group, nullif(trim({NFTYPE}), '') as nftype,
       nullif(trim({ISPRIMARY}), '') as is_primary, nullif(trim({ISSECONDARY}), '') as is_secondary,
       nullif(trim({ISPOST16}), '') as is_post16, nullif(trim({AGEL}), '') as age_low,
       nullif(trim({AGEH}), '') as age_high, nullif(trim({GENDER}), '') as gender,
       nullif(trim({RELDENOM}), '') as religion, nullif(trim({ADMPOL}), '') as admissions,
       nullif(trim({OTHERURN}), '') as other_urn,
       $start as start_year, $file as source_file
from {table} where try_cast(trim({URN}) as integer) is not null
