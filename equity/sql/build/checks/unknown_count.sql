-- How many cells hold a code we do not know (check "unknown codes").
select count(*) n from unknown_token
