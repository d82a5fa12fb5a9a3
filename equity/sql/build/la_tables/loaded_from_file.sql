-- LA, region and England figures one file gave. Parameter: the file.
select count(*) n from la_indicator_raw where source_file = ?
