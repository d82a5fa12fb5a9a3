-- Per source_file of one table: the latest start year and the latest date its rows hold. Slots:
-- table, years (its start_year column, or null), dates (its DATE and TIMESTAMP columns, or null).
select source_file, max(greatest({years})) as latest_year, cast(max(greatest({dates})) as date) as latest_date
from {table} where source_file is not null group by source_file
