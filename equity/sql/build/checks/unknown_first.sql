-- The first five cells holding a code we do not know (check "unknown codes").
select file, row, "column", token from unknown_token order by file, row limit 5
