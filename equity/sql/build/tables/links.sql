-- A GIAS links file into school_link (LinkEstablishedDate is written 31-12-2019). Parameter: $file.
-- Slots: table (the staging table) and one per file column it reads (an optional column the file
-- lacks is null). Numbers are read with cell_value, text with nullif(trim(...)).
insert into school_link by name
select try_cast(trim({URN}) as integer) as urn, try_cast(trim({LinkURN}) as integer) as link_urn,
       nullif(trim({LinkName}), '') as link_name, nullif(trim({LinkType}), '') as link_type,
       try_strptime(trim({LinkEstablishedDate}), '%d-%m-%Y')::date as link_date,
       $file as source_file
from {table} where try_cast(trim({URN}) as integer) is not null
