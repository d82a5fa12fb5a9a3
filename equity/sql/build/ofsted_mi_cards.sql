-- Ofsted management information: schools with a report card and the latest inspection of any kind
-- in one file. Parameter: the file.
select count(*) filter (where rc_start_date is not null) cards,
       greatest(max(rc_start_date), max(oeif_start_date), max(ungraded_date)) latest
from ofsted_mi where source_file = ?
