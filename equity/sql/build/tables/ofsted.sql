-- Ofsted's inspection history into ofsted_inspection: the judgement as a grade (1 Outstanding to
-- 4 Inadequate; Satisfactory, the older name, is 3), the date written 20191231. Parameter: $file.
-- Slots: table (the staging table) and one per file column it reads (an optional column the file
-- lacks is null). Numbers are read with cell_value, text with nullif(trim(...)).
insert into ofsted_inspection by name
select try_cast(trim({URN}) as integer) as urn, nullif(trim({Rating}), '') as grade_label,
       case trim({Rating}) when 'Outstanding' then 1 when 'Good' then 2 when 'Requires Improvement' then 3
                           when 'Satisfactory' then 3 when 'Inadequate' then 4 end as grade,
       try_strptime(trim({Inspection Date}), '%Y%m%d')::date as inspection_date,
       $file as source_file
from {table} where try_cast(trim({URN}) as integer) is not null
