select * from school where urn = $urn
