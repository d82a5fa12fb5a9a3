-- Leave one field of a staging table out as missing (slots: table, col). Parameter: the data row.
update {table} set {col} = null where _row = ?;
