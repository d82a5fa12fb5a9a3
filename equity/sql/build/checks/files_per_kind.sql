-- Files loaded per kind of file and the rows read from them (check "rows read per file type").
select kind, count(*) n, sum(rows) rows_ from source_file group by kind order by kind
